//! `status.prom`: the node_exporter textfile (spec §8.3).

use std::fmt::Write;

/// What a status file reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// Lowercase app address, or `None` when the config is unreadable.
    pub app_address: Option<String>,
    /// Chain id, or `None` when the config is unreadable.
    pub chain_id: Option<u64>,
    /// The last exit code: 0 ok, 1 warning, 2 failed.
    pub exit_code: u8,
    /// The latched divergence kind (exit 2 only).
    pub divergence_kind: Option<String>,
    /// Head checkpoint block.
    pub head_block: Option<u64>,
    /// The sequencer block the tick compared against (B, or the polled P).
    pub target_block: Option<u64>,
    /// The sequencer's finality as the tick measured it.
    pub liveness: Option<crate::liveness::Liveness>,
    /// Last tick end, Unix seconds.
    pub last_tick_unix: u64,
    /// Last tick wall time in milliseconds.
    pub duration_ms: u64,
    /// Inputs fed by all ticks.
    pub inputs_replayed_total: u64,
    /// Requests by endpoint: l1, l1_confirm, sequencer.
    pub rpc_requests_total: [u64; 3],
    /// Inputs fed by the last tick.
    pub tick_inputs_replayed: u64,
    /// Requests of the last tick by endpoint: l1, l1_confirm, sequencer.
    pub tick_rpc_requests: [u64; 3],
}

/// The `endpoint` label values, in the order of the request arrays.
const ENDPOINTS: [&str; 3] = ["l1", "l1_confirm", "sequencer"];

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Renders the file: families in spec order, labels sorted, no exponents.
    pub fn render(&self) -> String {
        let app = escape(self.app_address.as_deref().unwrap_or("unknown"));
        let chain = self
            .chain_id
            .map_or_else(|| "unknown".to_owned(), |c| c.to_string());
        let base = format!("app_address=\"{app}\",chain=\"{chain}\"");
        let mut out = String::new();
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };

        family(
            &mut out,
            "cartesi_watchdog_status",
            "gauge",
            "Last tick outcome class (1 = current).",
        );
        let current = match self.exit_code {
            0 => "ok",
            1 => "warning",
            _ => "failed",
        };
        for state in ["ok", "warning", "failed"] {
            let value = u8::from(state == current);
            let _ = writeln!(
                out,
                "cartesi_watchdog_status{{{base},state=\"{state}\"}} {value}"
            );
        }
        if let (Some(kind), 2) = (&self.divergence_kind, self.exit_code) {
            family(
                &mut out,
                "cartesi_watchdog_divergence_info",
                "gauge",
                "Latched divergence kind.",
            );
            let _ = writeln!(
                out,
                "cartesi_watchdog_divergence_info{{{base},kind=\"{}\"}} 1",
                escape(kind)
            );
        }
        if let Some(block) = self.head_block {
            family(
                &mut out,
                "cartesi_watchdog_head_block",
                "gauge",
                "Head checkpoint block.",
            );
            let _ = writeln!(out, "cartesi_watchdog_head_block{{{base}}} {block}");
        }
        family(
            &mut out,
            "cartesi_watchdog_last_tick_timestamp_seconds",
            "gauge",
            "Last tick end, Unix time.",
        );
        let _ = writeln!(
            out,
            "cartesi_watchdog_last_tick_timestamp_seconds{{{base}}} {}",
            self.last_tick_unix
        );
        family(
            &mut out,
            "cartesi_watchdog_tick_duration_seconds",
            "gauge",
            "Last tick wall time.",
        );
        let _ = writeln!(
            out,
            "cartesi_watchdog_tick_duration_seconds{{{base}}} {}.{:03}",
            self.duration_ms / 1000,
            self.duration_ms % 1000
        );
        family(
            &mut out,
            "cartesi_watchdog_inputs_replayed_total",
            "counter",
            "Inputs fed by ticks.",
        );
        let _ = writeln!(
            out,
            "cartesi_watchdog_inputs_replayed_total{{{base}}} {}",
            self.inputs_replayed_total
        );
        family(
            &mut out,
            "cartesi_watchdog_rpc_requests_total",
            "counter",
            "Requests made by ticks.",
        );
        for (endpoint, value) in ENDPOINTS.iter().zip(self.rpc_requests_total) {
            let _ = writeln!(
                out,
                "cartesi_watchdog_rpc_requests_total{{{base},endpoint=\"{endpoint}\"}} {value}"
            );
        }
        family(
            &mut out,
            "cartesi_watchdog_last_tick_inputs_replayed",
            "gauge",
            "Inputs fed by the last tick.",
        );
        let _ = writeln!(
            out,
            "cartesi_watchdog_last_tick_inputs_replayed{{{base}}} {}",
            self.tick_inputs_replayed
        );
        family(
            &mut out,
            "cartesi_watchdog_last_tick_rpc_requests",
            "gauge",
            "Requests made by the last tick.",
        );
        for (endpoint, value) in ENDPOINTS.iter().zip(self.tick_rpc_requests) {
            let _ = writeln!(
                out,
                "cartesi_watchdog_last_tick_rpc_requests{{{base},endpoint=\"{endpoint}\"}} {value}"
            );
        }
        let gauges = [
            // The reference watchdog's name for the compared block: dashboards and alert rules
            // written for it keep working.
            (
                "cartesi_watchdog_checked_block",
                "Newest L1 block the sequencer's state matched.",
                self.head_block,
            ),
            (
                "cartesi_watchdog_l1_head_block",
                "L1 head-tag block seen by the last tick.",
                self.liveness.map(|l| l.l1_head_block),
            ),
            (
                "cartesi_watchdog_sequencer_inclusion_block",
                "The sequencer's finalized inclusion block.",
                self.liveness
                    .map(|l| l.sequencer_inclusion_block)
                    .or(self.target_block),
            ),
            (
                "cartesi_watchdog_pending_inputs",
                "Inputs at or below the L1 head tag the sequencer has not finalized.",
                self.liveness.map(|l| l.pending_inputs),
            ),
            (
                "cartesi_watchdog_finality_lag_blocks",
                "L1 head-tag block minus the block of the oldest input the sequencer has not finalized (0 when none).",
                self.liveness.map(|l| l.finality_lag_blocks),
            ),
            (
                "cartesi_watchdog_max_finality_lag_blocks",
                "Finality lag past which a tick reports the sequencer stalled.",
                self.liveness.map(|l| l.max_finality_lag_blocks),
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                family(&mut out, name, "gauge", help);
                let _ = writeln!(out, "{name}{{{base}}} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_status_carries_the_kind() {
        let metrics = Metrics {
            app_address: Some("0xab".into()),
            chain_id: Some(31337),
            exit_code: 2,
            divergence_kind: Some("state_mismatch".into()),
            head_block: Some(10),
            target_block: Some(12),
            liveness: None,
            last_tick_unix: 1_790_000_000,
            duration_ms: 51_234,
            inputs_replayed_total: 3,
            rpc_requests_total: [9, 0, 2],
            tick_inputs_replayed: 3,
            tick_rpc_requests: [9, 0, 2],
        };
        let text = metrics.render();
        assert!(text.contains(
            "cartesi_watchdog_status{app_address=\"0xab\",chain=\"31337\",state=\"failed\"} 1\n"
        ));
        assert!(text.contains(
            "cartesi_watchdog_status{app_address=\"0xab\",chain=\"31337\",state=\"ok\"} 0\n"
        ));
        assert!(text.contains("cartesi_watchdog_divergence_info{app_address=\"0xab\",chain=\"31337\",kind=\"state_mismatch\"} 1\n"));
        assert!(text.contains(
            "cartesi_watchdog_tick_duration_seconds{app_address=\"0xab\",chain=\"31337\"} 51.234\n"
        ));
        // Every sample value is a plain decimal: no exponent, no sign, no NaN.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(
                value.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{line}"
            );
        }
    }

    #[test]
    fn unknown_config_labels() {
        let metrics = Metrics {
            app_address: None,
            chain_id: None,
            exit_code: 1,
            divergence_kind: Some("x".into()),
            head_block: None,
            target_block: None,
            liveness: None,
            last_tick_unix: 0,
            duration_ms: 5,
            inputs_replayed_total: 0,
            rpc_requests_total: [0; 3],
            tick_inputs_replayed: 0,
            tick_rpc_requests: [0; 3],
        };
        let text = metrics.render();
        assert!(text.contains("state=\"warning\"} 1"));
        assert!(!text.contains("divergence_info"));
        assert!(!text.contains("head_block"));
        assert!(text.contains("app_address=\"unknown\",chain=\"unknown\""));
    }
}
