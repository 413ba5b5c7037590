//! The allocator inside environment components.
//!
//! Rust's default wasm allocator asks the host for memory (`memory.grow`) on the first
//! allocation of every instance, and a grow costs the host a page-protection syscall. With
//! one instance per episode that was most of the cost of starting an episode. Here, talc
//! first claims a static arena that is already part of the initial linear memory (zero
//! pages, copy-on-write, so untouched parts cost nothing), and only grows the memory past
//! it — where the host's memory limit still applies.
//!
//! In front of talc sits a cache of freed small blocks, one LIFO list per power-of-two size
//! class. A step allocates and frees the same few small strings every time (the call's name
//! and arguments, the observation), and with thousands of live episodes each step finds its
//! instance's memory cold in the CPU cache: popping a list touches one cache line (the list
//! heads), where talc's search touched several (bins, bitfields, chunk tags).
//!
//! The last observation `step` returned is *retained*: the canonical ABI's post-return
//! would free it right after the host copied it, which costs the host one more call into
//! the instance per step. Instead the SDK frees it at the start of the next step, and
//! `cargo xtask build-envs` drops the post-return export of `step`. If a build keeps that
//! export, the post-return's free of the retained block is ignored, so either build is
//! sound.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

use talc::base::Talc;
use talc::base::binning::Binning;
use talc::cell::TalcSyncCell;
use talc::source::Source;
use talc::wasm::WasmBinning;

const ARENA_BYTES: usize = 1 << 20;
const PAGE_BYTES: usize = 64 << 10;
/// Grow by at least this much at a time, so large states do not grow page by page.
const MIN_GROW_PAGES: usize = 16;

static mut ARENA: [MaybeUninit<u8>; ARENA_BYTES] = [MaybeUninit::uninit(); ARENA_BYTES];

/// A talc memory source: the static arena first, then `memory.grow`.
#[derive(Debug)]
pub struct ArenaThenGrow {
    arena_claimed: bool,
}

// SAFETY: `acquire` touches only `talc` (through the given reference), the arena (handed to
// talc exactly once, and never touched elsewhere) and fresh pages from `memory.grow`.
unsafe impl Source for ArenaThenGrow {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.arena_claimed {
            talc.source.arena_claimed = true;
            // SAFETY: the arena is used by nothing else, and is claimed once (flag above).
            if unsafe { talc.claim((&raw mut ARENA).cast(), ARENA_BYTES) }.is_some() {
                return Ok(());
            }
        }
        // Room for the allocation plus talc's chunk overhead and alignment padding.
        let needed = layout.size().saturating_add(layout.align()).saturating_add(256);
        let pages = needed.div_ceil(PAGE_BYTES).max(MIN_GROW_PAGES);
        let previous = core::arch::wasm32::memory_grow::<0>(pages);
        if previous == usize::MAX {
            return Err(());
        }
        // SAFETY: `memory.grow` just handed us these pages; nothing else knows of them.
        let claimed = unsafe { talc.claim((previous * PAGE_BYTES) as *mut u8, pages * PAGE_BYTES) };
        claimed.map(drop).ok_or(())
    }
}

/// Smallest size class: 16 bytes, which is also every cached block's alignment.
const MIN_CLASS_SHIFT: u32 = 4;
/// Classes 16, 32, ..., 2048 bytes; larger blocks go straight to talc.
const CLASSES: usize = 8;

/// The size class of `layout` (blocks of `16 << class` bytes, 16-aligned), if it has one.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > 1 << MIN_CLASS_SHIFT {
        return None;
    }
    let shift = layout.size().max(1).next_power_of_two().trailing_zeros().max(MIN_CLASS_SHIFT);
    let class = (shift - MIN_CLASS_SHIFT) as usize;
    (class < CLASSES).then_some(class)
}

fn class_layout(class: usize) -> Layout {
    // SAFETY: a power of two no larger than 2048, with a power-of-two alignment.
    unsafe { Layout::from_size_align_unchecked(1 << (class as u32 + MIN_CLASS_SHIFT), 1 << MIN_CLASS_SHIFT) }
}

/// Talc behind per-class free lists of small blocks (a freed block's first word links to the
/// next one). Cached blocks stay cached: an episode's peak small-block use bounds them.
struct CachedTalc {
    talc: TalcSyncCell<ArenaThenGrow, WasmBinning>,
    free: UnsafeCell<[*mut u8; CLASSES]>,
}

// SAFETY: wasm32-unknown-unknown (without the atomics feature) runs one thread, so the free
// lists are never accessed concurrently.
unsafe impl Sync for CachedTalc {}

// SAFETY: every block handed out is either talc's (large, or a fresh small block allocated
// with its class's size and alignment) or a cached block of the same class, which is at
// least as large and as aligned as `layout` requires; `dealloc` and `realloc` find the class
// from the layout, which Rust guarantees matches the allocation's.
unsafe impl GlobalAlloc for CachedTalc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else { return unsafe { self.talc.alloc(layout) } };
        // SAFETY: single-threaded (see `Sync`), and no reference to the lists outlives this call.
        let free = unsafe { &mut *self.free.get() };
        let block = free[class];
        if block.is_null() {
            return unsafe { self.talc.alloc(class_layout(class)) };
        }
        // SAFETY: `block` is a freed block of this class; its first word links to the next.
        free[class] = unsafe { block.cast::<*mut u8>().read() };
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: single-threaded (see `Sync`).
        if ptr == unsafe { *RETAINED.get() }.0 {
            return; // freed by `release_retained`
        }
        let Some(class) = class_of(layout) else { return unsafe { self.talc.dealloc(ptr, layout) } };
        // SAFETY: as in `alloc`; the block is ours again and at least 16 bytes, 16-aligned.
        let free = unsafe { &mut *self.free.get() };
        unsafe { ptr.cast::<*mut u8>().write(free[class]) };
        free[class] = ptr;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `layout.align()` is a valid alignment and `new_size` was checked by the caller.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            (Some(old), Some(new)) if old == new => ptr,
            (None, None) => unsafe { self.talc.realloc(ptr, layout, new_size) },
            _ => {
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks are valid for the smaller of the two sizes.
                    unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
                    unsafe { self.dealloc(ptr, layout) };
                }
                new
            }
        }
    }
}

/// The retained observation's block and layout (null when none).
struct Retained(UnsafeCell<(*mut u8, Layout)>);

// SAFETY: single-threaded, as for `CachedTalc`.
unsafe impl Sync for Retained {}

impl Retained {
    fn get(&self) -> *mut (*mut u8, Layout) {
        self.0.get()
    }
}

static RETAINED: Retained = Retained(UnsafeCell::new((core::ptr::null_mut(), Layout::new::<u8>())));

/// Keep `text`'s block allocated past its drop, until [`release_retained`]; returns it as a
/// `String` whose capacity equals its length, so the bindings hand this very block to the host.
pub(crate) fn retain(text: String) -> String {
    let text = String::from(text.into_boxed_str());
    if text.capacity() > 0 {
        // SAFETY: single-threaded; a boxed `str` of `len` bytes has the layout (len, 1).
        unsafe {
            *RETAINED.get() = (text.as_ptr().cast_mut(), Layout::from_size_align_unchecked(text.len(), 1));
        }
    }
    text
}

/// Free the retained block, if any (its `String` is gone: the host copied it).
pub(crate) fn release_retained() {
    // SAFETY: single-threaded; the block was allocated with this layout and is owned by no
    // one else once the `String` that held it was dropped (or handed to the host).
    unsafe {
        let (ptr, layout) =
            core::mem::replace(&mut *RETAINED.get(), (core::ptr::null_mut(), Layout::new::<u8>()));
        if !ptr.is_null() {
            ALLOCATOR.dealloc(ptr, layout);
        }
    }
}

#[global_allocator]
static ALLOCATOR: CachedTalc = CachedTalc {
    talc: TalcSyncCell::new_wasm(ArenaThenGrow { arena_claimed: false }),
    free: UnsafeCell::new([core::ptr::null_mut(); CLASSES]),
};
