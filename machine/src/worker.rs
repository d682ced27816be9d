//! `MachineWorker`: one named OS thread owns a machine; async callers talk to it over channels.
//!
//! Machines are not `Send` (a libcartesi handle and its thread-local error strings belong to one
//! thread), so the worker loads the machine on its own thread and runs closures on it. Callers
//! await the replies and never hold the machine across `.await`. Blocking work cannot be
//! aborted: interruption is cooperative through [`RunControl`]; dropping the worker waits for the
//! current step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::{
    AdvanceReport, BackendInfo, Error, Hash, InspectReport, Machine, MachineBackend, MachineStats,
    Result, RunControl, StateSource, Status, extract_state, query_state,
};

type Job = Box<dyn FnOnce(&mut dyn Machine) + Send>;

/// The handle to a machine thread. Dropping it stops the thread after the current step.
#[derive(Debug)]
pub struct MachineWorker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl MachineWorker {
    /// Starts the thread `machine`, which loads `dir` with `backend`; returns once the machine
    /// is loaded, with its status.
    pub async fn spawn(backend: Arc<dyn MachineBackend>, dir: PathBuf) -> Result<(Self, Status)> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (loaded_tx, loaded_rx) = oneshot::channel::<Result<Status>>();
        let thread = std::thread::Builder::new()
            .name("machine".to_owned())
            .spawn(move || serve(backend.as_ref(), &dir, loaded_tx, queue))
            .map_err(|e| Error::io("machine thread", e))?;
        let worker = Self {
            jobs: Some(jobs),
            thread: Some(thread),
        };
        let status = loaded_rx.await.map_err(|_| Error::WorkerGone)??;
        Ok((worker, status))
    }

    /// Runs `f` on the machine thread and returns its result.
    pub async fn with<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Machine) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |m| {
            let _ = tx.send(f(m));
        });
        self.jobs
            .as_ref()
            .ok_or(Error::WorkerGone)?
            .send(job)
            .map_err(|_| Error::WorkerGone)?;
        rx.await.map_err(|_| Error::WorkerGone)
    }

    /// [`Machine::status`].
    pub async fn status(&self) -> Result<Status> {
        self.with(|m| m.status().clone()).await
    }

    /// [`Machine::root_hash`].
    pub async fn root_hash(&self) -> Result<Hash> {
        self.with(|m| m.root_hash()).await?
    }

    /// [`Machine::advance`].
    pub async fn advance(&self, input: Vec<u8>, ctl: RunControl) -> Result<AdvanceReport> {
        self.with(move |m| m.advance(&input, &ctl)).await?
    }

    /// [`Machine::inspect`].
    pub async fn inspect(&self, query: Vec<u8>, ctl: RunControl) -> Result<InspectReport> {
        self.with(move |m| m.inspect(&query, &ctl)).await?
    }

    /// [`query_state`].
    pub async fn query_state(&self, query: Vec<u8>, ctl: RunControl) -> Result<Vec<u8>> {
        self.with(move |m| query_state(m, &query, &ctl)).await?
    }

    /// [`extract_state`].
    pub async fn extract_state(&self, source: StateSource, ctl: RunControl) -> Result<Vec<u8>> {
        self.with(move |m| extract_state(m, &source, &ctl)).await?
    }

    /// [`Machine::store`].
    pub async fn store(&self, dest: PathBuf) -> Result<Hash> {
        self.with(move |m| m.store(&dest)).await?
    }

    /// [`Machine::info`].
    pub async fn info(&self) -> Result<BackendInfo> {
        self.with(|m| m.info()).await
    }

    /// [`Machine::stats`].
    pub async fn stats(&self) -> Result<MachineStats> {
        self.with(|m| m.stats()).await
    }
}

fn serve(
    backend: &dyn MachineBackend,
    dir: &Path,
    loaded: oneshot::Sender<Result<Status>>,
    queue: mpsc::Receiver<Job>,
) {
    let mut machine = match backend.load(dir) {
        Ok(machine) => machine,
        Err(err) => {
            let _ = loaded.send(Err(err));
            return;
        }
    };
    if loaded.send(Ok(machine.status().clone())).is_err() {
        return;
    }
    // Ends when the worker drops its sender.
    while let Ok(job) = queue.recv() {
        job(machine.as_mut());
    }
}

impl Drop for MachineWorker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
