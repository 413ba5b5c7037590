use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use codegym_core::ToolCall;
use serde::Serialize;

/// A policy that solves an environment's tasks seeing only what an agent sees: the task
/// statement and the observations of its own tool calls.
///
/// Write it as straight-line async code; each `agent.call(..).await` is one turn:
///
/// ```text
/// impl Oracle for MyOracle {
///     async fn solve(agent: Agent, task: String) {
///         let size = first_int(&agent.call("Size", NoArgs {}).await).unwrap_or(0);
///         agent.done(size * 2).await;
///     }
/// }
/// ```
///
/// The host runs the oracle in its own component instance, apart from the environment, so
/// it cannot peek at hidden state even by accident.
pub trait Oracle: 'static {
    fn solve(agent: Agent, task: String) -> impl Future<Output = ()> + 'static;
}

#[derive(Default)]
struct Channel {
    /// The call the oracle is waiting on, taken by the driver.
    outgoing: Option<ToolCall>,
    /// The observation answering that call, put by the driver.
    incoming: Option<String>,
}

/// The oracle's handle for calling tools.
#[derive(Clone)]
pub struct Agent {
    channel: Rc<RefCell<Channel>>,
}

impl Agent {
    /// Call tool `name` with `arguments` (any `Serialize` value that is a JSON object, e.g. a
    /// tool's argument struct or `serde_json::json!({...})`) and wait for the observation.
    pub async fn call(&self, name: &str, arguments: impl Serialize) -> String {
        let arguments = serde_json::to_string(&arguments).unwrap_or_else(|_| "{}".to_owned());
        Turn { channel: &self.channel, call: Some(ToolCall::new(name, arguments)) }.await
    }

    /// Submit the final answer with the built-in `Done` tool.
    pub async fn done(&self, answer: impl Serialize) -> String {
        self.call("Done", serde_json::json!({ "answer": answer })).await
    }
}

/// One turn: first poll hands the call to the driver, the next poll takes the observation.
struct Turn<'a> {
    channel: &'a RefCell<Channel>,
    call: Option<ToolCall>,
}

impl Future for Turn<'_> {
    type Output = String;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<String> {
        let mut channel = self.channel.borrow_mut();
        if let Some(call) = self.call.take() {
            channel.outgoing = Some(call);
            return Poll::Pending;
        }
        match channel.incoming.take() {
            Some(observation) => Poll::Ready(observation),
            None => Poll::Pending,
        }
    }
}

/// Runs an [`Oracle`] one tool call at a time: the inversion of control behind the
/// component's `oracle-start` / `oracle-next` exports.
pub struct OracleDriver {
    future: Option<Pin<Box<dyn Future<Output = ()>>>>,
    channel: Rc<RefCell<Channel>>,
    awaiting: bool,
}

impl OracleDriver {
    pub fn start<O: Oracle>(task: &str) -> Self {
        let channel = Rc::new(RefCell::new(Channel::default()));
        let agent = Agent { channel: channel.clone() };
        let future: Pin<Box<dyn Future<Output = ()>>> = Box::pin(O::solve(agent, task.to_owned()));
        Self { future: Some(future), channel, awaiting: false }
    }

    /// The oracle's next call, given the observation of its previous one (ignored on the
    /// first call). `None` once the oracle has finished.
    pub fn next(&mut self, last_observation: &str) -> Option<ToolCall> {
        if self.awaiting {
            self.channel.borrow_mut().incoming = Some(last_observation.to_owned());
            self.awaiting = false;
        }
        let future = self.future.as_mut()?;
        let mut context = Context::from_waker(Waker::noop());
        if future.as_mut().poll(&mut context).is_ready() {
            self.future = None;
            return None;
        }
        let call = self.channel.borrow_mut().outgoing.take();
        // An oracle that awaits anything but a tool call would stall: treat it as finished.
        if call.is_none() {
            self.future = None;
        }
        self.awaiting = call.is_some();
        call
    }
}
