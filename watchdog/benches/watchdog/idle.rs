//! Benchmark 1: an idle tick ÷ one GET of `/finalized_state/inclusion_block`.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::Command,
    time::{Duration, Instant},
};

use watchdog::{
    Watchdog,
    testing::{
        genesis_state,
        l1::{Chain, serve},
        sequencer::{FakeSequencer, Served},
    },
};

use crate::{B0, median};

/// One GET on a fresh connection with a minimal HTTP/1.1 client; returns the body length.
fn raw_get(addr: SocketAddr) -> usize {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            b"GET /finalized_state/inclusion_block HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    assert!(reply.starts_with(b"HTTP/1.1 200"));
    reply.len()
}

/// Runs `rounds` rounds, each timing one idle tick, one `curl` process, one reqwest GET on a
/// fresh client and one raw GET, interleaved so drift hits all four alike.
pub(crate) fn run(rounds: usize) {
    let tmp = crate::tempdir("watchdog-bench-idle-");
    let state = tmp.path().join("state");
    let l1 = serve(Chain {
        max_range: 1000,
        ..Chain::with_inputs(Vec::new())
    });
    let seq = FakeSequencer::start(Served::at(B0, 0, genesis_state()));
    let (l1_url, seq_url) = (format!("http://{l1}"), seq.url());
    crate::init(&state, &l1_url, &seq_url);
    // The first tick compares the never-compared bootstrap; every later one is idle.
    let first =
        Watchdog::open(&state, crate::settings(&state, &l1_url, &seq_url)).tick(&mut Vec::new());
    assert_eq!(first.outcome().as_str(), "agreed", "{}", first.line());
    let poll_url = format!("{seq_url}/finalized_state/inclusion_block");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let curl = Command::new("curl").arg("--version").output().is_ok();

    let tick = || {
        let mut events = Vec::new();
        let summary =
            Watchdog::open(&state, crate::settings(&state, &l1_url, &seq_url)).tick(&mut events);
        assert_eq!(summary.outcome().as_str(), "idle", "{}", summary.line());
    };
    let curl_get = || {
        let out = Command::new("curl")
            .args(["-sS", "--fail", &poll_url])
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    let reqwest_get = || {
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let body = client.get(&poll_url).send().await.unwrap().bytes().await;
            assert!(!body.unwrap().is_empty());
        });
    };
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };

    for _ in 0..3 {
        tick();
        reqwest_get();
        raw_get(seq.addr);
        if curl {
            curl_get();
        }
    }
    let (mut ticks, mut curls, mut reqs, mut raws) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        ticks.push(time(&tick));
        if curl {
            curls.push(time(&curl_get));
        }
        reqs.push(time(&reqwest_get));
        raws.push(time(&|| {
            raw_get(seq.addr);
        }));
    }
    let tick = median(&mut ticks);
    let show = |name: &str, d: Duration| {
        println!(
            "idle: {name:<28} median {:>9.1} µs   tick ÷ this = {:.2}",
            d.as_secs_f64() * 1e6,
            tick.as_secs_f64() / d.as_secs_f64()
        );
    };
    println!("idle: {rounds} interleaved rounds");
    show("tick (Watchdog::tick)", tick);
    if curl {
        show("curl process", median(&mut curls));
    }
    show("reqwest, fresh client", median(&mut reqs));
    show("raw TCP GET, fresh conn", median(&mut raws));
}
