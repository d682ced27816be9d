//! `init` (spec §6.1): verify a trusted bootstrap and create the state directory. `head.json`
//! is written last, as the completion marker.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use l1::{BlockParam, HeadTag, RequestBudget};
use machine::{Machine, RunControl, Status, extract_state};
use sha2::{Digest, Sha256};

use crate::checkpoint::{STATE_FILE, check_manifest, new_manifest};
use crate::core::{Watchdog, block_on, connect_l1};
use crate::feed::Anchor;
use crate::options::{Backend, DEFAULT_MAX_CYCLES_PER_INPUT, address_lower, codes_to_strings};
use crate::state::files::{
    Bootstrap, CONFIG_VERSION, ConfigFile, HeadFile, Identity, ManifestFile,
};
use crate::state::fsx;
use crate::state::layout::checkpoint_name;
use crate::state::lock::RunLock;
use crate::template;
use crate::{Class, Error, Outcome, Result, Summary};

const COMMAND: &str = "init";

/// What `init` needs beyond [`Settings`](crate::options::Settings).
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The bootstrap: a stored machine directory, or `genesis:<profile>` (native).
    pub snapshot: Option<String>,
    /// B0.
    pub snapshot_block: Option<u64>,
    /// Expected root hash of a cartesi bootstrap.
    pub cm_image_hash: Option<String>,
    /// Cycle budget per input.
    pub max_cycles_per_input: Option<u64>,
}

impl Watchdog {
    /// `init` (spec §6.1): verifies the bootstrap and creates the state directory.
    pub fn init(&self, options: &crate::InitOptions) -> Result<crate::Summary> {
        self.require_attached()?;
        run(self, options)
    }
}

/// Runs `init`.
pub(crate) fn run(wd: &Watchdog, options: &InitOptions) -> Result<Summary> {
    wd.dir.ensure()?;
    let _lock = RunLock::try_acquire(&wd.dir.lock_path())?;
    let settings = &wd.settings;
    let snapshot = options.snapshot.clone().ok_or_else(|| {
        Error::Usage("--snapshot-dir (or CARTESI_WATCHDOG_CM_SNAPSHOT_DIR) is required".into())
    })?;
    let block0 = options.snapshot_block.ok_or_else(|| {
        Error::Usage(
            "--snapshot-safe-block (or CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK) is required".into(),
        )
    })?;
    let sequencer_url = settings.sequencer_url.clone().ok_or_else(|| {
        Error::Usage(
            "--sequencer-url (or CARTESI_WATCHDOG_SEQUENCER_URL) is required at init".into(),
        )
    })?;
    let app = settings.app_address.ok_or_else(|| {
        Error::Usage("--app-address (or CARTESI_WATCHDOG_APP_ADDRESS) is required".into())
    })?;
    let backend = settings.machine_backend.unwrap_or(Backend::Native);
    let state_source = settings
        .state_source
        .clone()
        .unwrap_or_else(|| "inspect".to_owned());
    let rpc_url = settings.require_rpc_url()?;

    // Step 1: an existing state directory.
    if let Some(existing) = wd.dir.read_config()? {
        crate::identity::check(settings, &existing)?;
        match wd.dir.read_head() {
            Ok(Some(head)) => {
                let manifest = wd.dir.read_manifest(&wd.dir.head_dir(&head))?;
                check_manifest(&head, &manifest)?;
                return Ok(Summary::new(
                    Some(COMMAND),
                    Outcome::AlreadyInitialized,
                    format!("already initialized at block {}", head.block),
                )
                .head_block(head.block));
            }
            Ok(None) => {
                tracing::info!(target: "watchdog::init", "resuming an interrupted init");
                wd.dir.gc(None)?;
            }
            Err(e) => {
                return Err(Error::fail(
                    Class::Operator,
                    "incomplete_state",
                    e.to_string(),
                ));
            }
        }
    }

    // Step 2: L1 checks.
    let budget = RequestBudget::new(settings.max_rpc_requests);
    let tag = settings.l1_head_tag.unwrap_or(HeadTag::Safe);
    let (chain_id, input_box, anchor, onchain) = block_on(settings.deadline, async {
        let provider = connect_l1(&rpc_url, &budget)?;
        let chain_id = crate::feed::chain_id(&provider, settings.chain_id).await?;
        let head = l1::block_by_tag(&provider, tag).await?;
        if head.number < block0 {
            return Err(Error::fail(
                Class::Transient,
                "l1_head_lags",
                format!(
                    "the L1 {tag} block {} is below the bootstrap block {block0}",
                    head.number
                ),
            ));
        }
        let at_b0 = l1::block_by_number(&provider, block0).await?;
        // The application may postdate B0 (e.g. block 0 of a devnet): ask it at the head tag.
        let now = BlockParam::Hash(head.hash);
        let found = match settings.input_box_address {
            Some(configured) => l1::ensure_input_box(&provider, app, configured, now)
                .await
                .map(|()| configured),
            None => l1::discover_input_box(&provider, app, now).await,
        };
        let input_box = match found {
            Ok(input_box) => input_box,
            Err(e @ l1::Error::Discovery { .. }) => {
                return Err(not_yet_safe(&provider, app, tag, head.number)
                    .await?
                    .unwrap_or(e.into()));
            }
            Err(e) => return Err(e.into()),
        };
        let count =
            l1::input_count(&provider, input_box, app, BlockParam::Hash(at_b0.hash)).await?;
        let onchain = match backend {
            Backend::Cartesi => {
                Some(template::onchain(&provider, app, at_b0.hash, head.hash).await?)
            }
            Backend::Native => None,
        };
        Ok((
            chain_id,
            input_box,
            Anchor {
                block: block0,
                hash: at_b0.hash,
                input_count: count,
            },
            onchain,
        ))
    })?;

    // Step 3: load the bootstrap, check its template point and read its state, writing
    // nothing: loading, hashing and reading a machine just loaded store nothing (a scratch
    // store would fail under a file rather than write).
    let pin = options
        .cm_image_hash
        .as_deref()
        .map(template::pin)
        .transpose()?;
    let unwritable = wd.dir.lock_path().join("scratch");
    let mut machine = open_bootstrap(wd, backend, &snapshot, &anchor, &unwritable)?;
    let template_hash =
        verify_template(machine.as_mut(), backend, &snapshot, &anchor, onchain, pin)?;
    let state = read_state(machine.as_mut(), &state_source)?;
    let sha = B256::from_slice(&Sha256::digest(&state));
    let workspace = wd.dir.new_workspace()?;
    let root = machine
        .store(&workspace.join("machine"))
        .map_err(|e| Error::fail(Class::Internal, "publish_failed", e.to_string()))?;

    // Step 4: config.json, the checkpoint, then head.json last.
    let now = crate::state::clock::rfc3339(wd.clock.now_unix());
    let config = ConfigFile {
        version: CONFIG_VERSION,
        identity: Identity {
            chain_id,
            app_address: address_lower(app),
            input_box_address: address_lower(input_box),
            machine_backend: backend.as_str().to_owned(),
            state_source,
        },
        sequencer_url: sequencer_url
            .expose()
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
        long_block_range_error_codes: codes_to_strings(
            settings
                .range_codes
                .as_deref()
                .unwrap_or(&l1::DEFAULT_RANGE_ERROR_CODES),
        ),
        l1_head_tag: tag.to_string(),
        max_cycles_per_input: options
            .max_cycles_per_input
            .unwrap_or(DEFAULT_MAX_CYCLES_PER_INPUT),
        bootstrap: Bootstrap {
            block: block0,
            input_count: anchor.input_count,
            block_hash: format!("{:#x}", anchor.hash),
            cm_image_hash: options.cm_image_hash.clone(),
            created_at: now.clone(),
        },
    };
    wd.dir
        .write_config(&config)
        .map_err(|e| Error::fail(Class::Internal, "publish_failed", e.to_string()))?;
    fsx::write_new(&workspace.join(STATE_FILE), &state)?;
    let manifest = ManifestFile {
        template_hash: template_hash.map(|hash| template::hex32(&hash)),
        ..new_manifest(backend, &anchor, &sha, &root, None, "bootstrap", now)
    };
    let head = HeadFile {
        version: 1,
        checkpoint: format!(
            "checkpoints/{}",
            checkpoint_name(block0, anchor.input_count)
        ),
        block: block0,
        input_count: anchor.input_count,
        state_sha256: hex::encode(sha),
        block_hash: format!("{:#x}", anchor.hash),
        agreed: false,
    };
    wd.dir
        .publish(&workspace, &manifest, &head)
        .map_err(|e| Error::fail(Class::Internal, "publish_failed", e.to_string()))?;
    tracing::info!(target: "watchdog::init", event = "initialized", block = block0, inputs = anchor.input_count, "state directory created");
    Ok(Summary::new(
        Some(COMMAND),
        Outcome::Initialized,
        format!("initialized at block {block0}"),
    )
    .head_block(block0)
    .target_block(block0)
    .extra("input_count", &anchor.input_count)
    .extra("state_sha256", &hex::encode(sha))
    .extra("input_box_address", &address_lower(input_box)))
}

/// Checks the loaded bootstrap against the on-chain template hash (cartesi) and the operator's
/// pin. Returns the template point of a cartesi bootstrap.
fn verify_template(
    machine: &mut dyn Machine,
    backend: Backend,
    snapshot: &str,
    anchor: &Anchor,
    onchain: Option<[u8; 32]>,
    pin: Option<[u8; 32]>,
) -> Result<Option<machine::Hash>> {
    let root = machine
        .root_hash()
        .map_err(|e| Error::fail(Class::Operator, "checkpoint_corrupt", e.to_string()))?;
    let point = match backend {
        Backend::Cartesi => {
            template::template_point(Path::new(snapshot), anchor.input_count, &root)?
        }
        Backend::Native => root,
    };
    if let Some(onchain) = onchain {
        template::require("the application's on-chain template hash", &onchain, &point)?;
    }
    if let Some(pin) = pin {
        template::require("--cm-image-hash", &pin, &point)?;
    }
    Ok((backend == Backend::Cartesi).then_some(point))
}

/// Loads the bootstrap (`work` would take a cartesi machine's scratch stores) and checks it
/// waits for input.
fn open_bootstrap(
    wd: &Watchdog,
    backend: Backend,
    snapshot: &str,
    anchor: &Anchor,
    work: &Path,
) -> Result<Box<dyn Machine>> {
    if snapshot.starts_with("genesis:") {
        if backend != Backend::Native {
            return Err(Error::Usage(
                "genesis:<profile> bootstraps need --machine-backend native".into(),
            ));
        }
        if anchor.input_count != 0 {
            return Err(Error::fail(
                Class::Operator,
                "config_invalid",
                format!(
                    "a genesis bootstrap needs 0 inputs at block {}, found {}",
                    anchor.block, anchor.input_count
                ),
            ));
        }
    }
    let loader = wd.backend(backend, work)?;
    let machine = loader.load(&PathBuf::from(snapshot)).map_err(|e| match e {
        machine::Error::Library(_) => crate::feed::machine_error(e),
        other => Error::fail(
            Class::Operator,
            "checkpoint_corrupt",
            format!("bootstrap {snapshot}: {other}"),
        ),
    })?;
    if machine.status() != &Status::Ready {
        return Err(Error::fail(
            Class::Operator,
            "checkpoint_corrupt",
            "the bootstrap is not waiting for input",
        ));
    }
    Ok(machine)
}

/// The bootstrap's state bytes, from `state_source`.
fn read_state(machine: &mut dyn Machine, state_source: &str) -> Result<Vec<u8>> {
    let source = match state_source.strip_prefix("range:") {
        Some(label) => machine::StateSource::Range {
            label: label.to_owned(),
            max_len: 1 << 30,
        },
        None => machine::StateSource::Inspect(b"state".to_vec()),
    };
    extract_state(machine, &source, &RunControl::default())
        .map_err(|e| Error::fail(Class::Operator, "state_extraction_failed", e.to_string()))
}

/// Why the application cannot be read at the head tag, when the reason is that it is younger
/// than that block (right after a deployment): `transient/application_not_safe` naming the
/// deployment block (from `getDeploymentBlockNumber()` at `latest`, when the application has
/// it) and the head-tag block. `None` when the application has code at the head tag, or none
/// even at `latest` (then the discovery error stands).
async fn not_yet_safe(
    provider: &l1::L1Provider,
    app: alloy_primitives::Address,
    tag: HeadTag,
    head_block: u64,
) -> Result<Option<Error>> {
    let latest = BlockParam::Tag(HeadTag::Latest);
    if !l1::code_at(provider, app, BlockParam::Number(head_block))
        .await?
        .is_empty()
        || l1::code_at(provider, app, latest).await?.is_empty()
    {
        return Ok(None);
    }
    let deployed = match l1::deployment_block(provider, app, latest).await? {
        Some(block) => format!("block {block}"),
        None => format!("a block after {head_block}"),
    };
    Ok(Some(Error::fail(
        Class::Transient,
        "application_not_safe",
        format!(
            "the application {app:#x} was deployed at {deployed}, above the L1 {tag} block {head_block}: retry once the {tag} head reaches its deployment block"
        ),
    )))
}
