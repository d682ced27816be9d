//! The machine thread and its async handle.

use std::sync::Arc;

use cartesi_machine_stub::StubApi;
use machine::{
    BackendInfo, Error, MachineBackend, MachineWorker, NativeBackend, Outcome, StateSource, Status,
};

use crate::common::{ctl, input, scratch, stub_backend, stub_template};

#[tokio::test(flavor = "current_thread")]
async fn a_worker_serves_a_stub_machine() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let backend: Arc<dyn MachineBackend> =
        Arc::new(stub_backend(StubApi::V21, &dir.path().join("work")));
    let (worker, status) = MachineWorker::spawn(backend, template).await.unwrap();
    assert_eq!(status, Status::Ready);
    let report = worker.advance(input(b"hello"), ctl()).await.unwrap();
    assert!(matches!(report.outcome, Outcome::Accepted { .. }));
    let state = worker.query_state(b"state".to_vec(), ctl()).await.unwrap();
    assert_eq!(&state[20..25], b"hello");
    let range = worker
        .extract_state(
            StateSource::Range {
                label: "state".into(),
                max_len: 1 << 20,
            },
            ctl(),
        )
        .await
        .unwrap();
    assert_eq!(&range[..state.len()], state.as_slice());
    let root = worker.store(dir.path().join("stored")).await.unwrap();
    assert_eq!(worker.root_hash().await.unwrap(), root);
    assert!(matches!(
        worker.info().await.unwrap(),
        BackendInfo::Cartesi(_)
    ));
    drop(worker);
}

#[tokio::test(flavor = "current_thread")]
async fn a_worker_reports_load_failures() {
    let backend: Arc<dyn MachineBackend> = Arc::new(NativeBackend);
    let err = MachineWorker::spawn(backend.clone(), "/nonexistent/checkpoint".into())
        .await
        .expect_err("load fails");
    assert!(matches!(err, Error::Snapshot { .. }), "{err:?}");
    let (worker, _) = MachineWorker::spawn(backend, "genesis:devnet".into())
        .await
        .unwrap();
    assert_eq!(worker.status().await.unwrap(), Status::Ready);
}
