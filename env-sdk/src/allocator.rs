//! The allocator inside environment components.
//!
//! Rust's default wasm allocator asks the host for memory (`memory.grow`) on the first
//! allocation of every instance, and a grow costs the host a page-protection syscall. With
//! one instance per episode that was most of the cost of starting an episode. Here, talc
//! first claims a static arena that is already part of the initial linear memory (zero
//! pages, copy-on-write, so untouched parts cost nothing), and only grows the memory past
//! it — where the host's memory limit still applies.

use core::alloc::Layout;
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

#[global_allocator]
static ALLOCATOR: TalcSyncCell<ArenaThenGrow, WasmBinning> =
    TalcSyncCell::new_wasm(ArenaThenGrow { arena_claimed: false });
