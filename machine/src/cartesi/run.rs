//! Algorithms S (classify the current state) and R (run to a stop).

use cartesi_machine_sys::{
    BREAK_CONSOLE_INPUT, BREAK_CONSOLE_OUTPUT, BREAK_HALTED, BREAK_MCYCLE_OVERFLOW,
    BREAK_REACHED_TARGET_MCYCLE, BREAK_YIELDED_AUTOMATICALLY, BREAK_YIELDED_MANUALLY,
    BREAK_YIELDED_SOFTLY, CMIO_YIELD_AUTOMATIC, CMIO_YIELD_AUTOMATIC_REASON_TX_OUTPUT,
    CMIO_YIELD_AUTOMATIC_REASON_TX_REPORT, CMIO_YIELD_MANUAL, CMIO_YIELD_MANUAL_REASON_RX_ACCEPTED,
    CMIO_YIELD_MANUAL_REASON_RX_REJECTED, CMIO_YIELD_MANUAL_REASON_TX_EXCEPTION, RegTable,
};

use super::handle::Handle;
use crate::outcome::Collector;
use crate::{Error, Hash, Outcome, Result, Run, RunControl, Stop};

/// The state of a machine that is not running (algorithm S).
#[derive(Debug)]
pub(crate) enum Classified {
    /// At an rx-accepted manual yield: waiting for input.
    Ready,
    /// At an rx-rejected manual yield (meaningful only inside an advance).
    AtRejected,
    /// At a fixed point the machine state records.
    Stuck(Outcome),
    /// An automatic yield is pending.
    MidInput,
    /// Neither yielded nor halted.
    Running,
}

/// Where algorithm R stopped.
#[derive(Debug)]
enum RawStop {
    Halted(u32),
    Manual { reason: u16, len: usize },
    BudgetExhausted,
    Interrupted,
}

fn regs(h: &Handle) -> &'static RegTable {
    h.lib().api().regs()
}

fn halt_code(h: &Handle) -> Result<u32> {
    let tohost = h.read_reg(regs(h).htif_tohost)?;
    Ok(((tohost & 0xFFFF_FFFF) >> 1) as u32)
}

/// Whether the 0.21 emulator records budget exhaustion (`mcycle ≥ imcyclemax`).
fn overflow_recorded(h: &Handle) -> Result<bool> {
    match regs(h).imcyclemax {
        Some(imcyclemax) => Ok(h.read_reg(regs(h).mcycle)? >= h.read_reg(imcyclemax)?),
        None => Ok(false),
    }
}

fn manual_outcome(reason: u16, data: &[u8]) -> Outcome {
    match reason {
        CMIO_YIELD_MANUAL_REASON_TX_EXCEPTION => Outcome::Exception(data.to_vec()),
        _ => Outcome::UnsupportedYield {
            cmd: CMIO_YIELD_MANUAL,
            reason,
            data: data.to_vec(),
        },
    }
}

fn outputs_root(data: &[u8]) -> Option<Hash> {
    <Hash>::try_from(data).ok()
}

/// Algorithm S: classifies a machine that is not running.
pub(crate) fn classify(h: &Handle, rx: &mut [u8]) -> Result<Classified> {
    let r = regs(h);
    if overflow_recorded(h)? {
        return Ok(Classified::Stuck(Outcome::CycleBudgetExhausted));
    }
    if h.read_reg(r.iflags_h)? != 0 {
        return Ok(Classified::Stuck(Outcome::Halted(halt_code(h)?)));
    }
    if h.read_reg(r.iflags_y)? != 0 {
        let (cmd, reason, len) = h.receive(rx)?;
        if cmd != CMIO_YIELD_MANUAL {
            return Err(Error::Protocol(format!(
                "manual yield flag with command {cmd}"
            )));
        }
        return Ok(match reason {
            CMIO_YIELD_MANUAL_REASON_RX_ACCEPTED => Classified::Ready,
            CMIO_YIELD_MANUAL_REASON_RX_REJECTED => Classified::AtRejected,
            _ => Classified::Stuck(manual_outcome(reason, &rx[..len])),
        });
    }
    if h.read_reg(r.iflags_x)? != 0 {
        return Ok(Classified::MidInput);
    }
    Ok(Classified::Running)
}

/// Algorithm R: runs from `m0` (the mcycle before the request) to a stop, collecting outputs and
/// reports, and maps the stop to a [`Run`].
pub(crate) fn run_request(h: &Handle, rx: &mut [u8], m0: u64, ctl: &RunControl) -> Result<Run> {
    let mut collected = Collector::new(ctl.max_collected_bytes);
    let stop = run_to_stop(h, rx, m0, ctl, &mut collected)?;
    let mcycles = h.read_reg(regs(h).mcycle)?.saturating_sub(m0);
    let stop = match stop {
        RawStop::Halted(code) => Stop::FixedPoint {
            outcome: Outcome::Halted(code),
            recorded: true,
        },
        RawStop::Manual { reason, len } => match reason {
            CMIO_YIELD_MANUAL_REASON_RX_ACCEPTED => Stop::Accepted {
                outputs_root: outputs_root(&rx[..len]),
            },
            CMIO_YIELD_MANUAL_REASON_RX_REJECTED => Stop::Rejected,
            _ => Stop::FixedPoint {
                outcome: manual_outcome(reason, &rx[..len]),
                recorded: true,
            },
        },
        RawStop::BudgetExhausted => Stop::FixedPoint {
            outcome: Outcome::CycleBudgetExhausted,
            recorded: overflow_recorded(h)?,
        },
        RawStop::Interrupted => Stop::Interrupted,
    };
    Ok(Run {
        stop,
        outputs: collected.outputs,
        reports: collected.reports,
        mcycles,
        truncated: collected.truncated,
    })
}

fn run_to_stop(
    h: &Handle,
    rx: &mut [u8],
    m0: u64,
    ctl: &RunControl,
    collected: &mut Collector,
) -> Result<RawStop> {
    let limit = m0.saturating_add(ctl.effective_budget());
    let slice = ctl.slice.max(1);
    // Slices end at m0 + k·slice: a yield inside a slice resumes towards the same end.
    let mut target = limit.min(m0.saturating_add(slice));
    loop {
        match h.run(target)? {
            BREAK_HALTED => return Ok(RawStop::Halted(halt_code(h)?)),
            BREAK_YIELDED_MANUALLY => {
                let (cmd, reason, len) = h.receive(rx)?;
                if cmd != CMIO_YIELD_MANUAL {
                    return Err(Error::Protocol(format!("manual yield with command {cmd}")));
                }
                return Ok(RawStop::Manual { reason, len });
            }
            BREAK_YIELDED_AUTOMATICALLY => {
                let (cmd, reason, len) = h.receive(rx)?;
                if cmd != CMIO_YIELD_AUTOMATIC {
                    return Err(Error::Protocol(format!(
                        "automatic yield with command {cmd}"
                    )));
                }
                match reason {
                    CMIO_YIELD_AUTOMATIC_REASON_TX_OUTPUT => collected.output(&rx[..len]),
                    CMIO_YIELD_AUTOMATIC_REASON_TX_REPORT => collected.report(&rx[..len]),
                    _ => {} // progress and unknown automatic reasons do not affect the state
                }
            }
            BREAK_YIELDED_SOFTLY | BREAK_CONSOLE_OUTPUT | BREAK_CONSOLE_INPUT => {}
            BREAK_REACHED_TARGET_MCYCLE => {
                if target >= limit {
                    return Ok(RawStop::BudgetExhausted);
                }
                target = limit.min(target.saturating_add(slice));
            }
            BREAK_MCYCLE_OVERFLOW if regs(h).imcyclemax.is_some() => {
                return Ok(RawStop::BudgetExhausted);
            }
            other => return Err(Error::Protocol(format!("unexpected break reason {other}"))),
        }
        if ctl.interrupted() {
            return Ok(RawStop::Interrupted);
        }
    }
}
