//! Bounded log files: a log past its size cap is rotated aside (`anvil.log` → `anvil.log.1` →
//! … → `anvil.log.N`, the oldest dropped) and read back across rotation.
//!
//! The children write their logs with `O_APPEND`, so the supervisor rotates by copying the
//! live file to `.1` and truncating it in place (the writer's next line lands at the new end):
//! nothing is reopened, and at most the lines written between the copy and the truncation are
//! lost. A log can outgrow its cap by what is written between two checks.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// How large a log may grow and how many rotated files are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogPolicy {
    /// Rotate a log once it is larger than this.
    pub max_bytes: u64,
    /// Rotated files kept besides the live one (`.1` … `.N`).
    pub files: usize,
}

impl Default for LogPolicy {
    /// 16 MiB, three rotated files: at most 64 MiB per component.
    fn default() -> Self {
        Self {
            max_bytes: 16 << 20,
            files: 3,
        }
    }
}

/// The `index`-th rotated file of `path` (`anvil.log.1` is the newest).
pub fn rotated(path: &Path, index: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// Makes room for a new `.1`: drops the oldest kept file and renames `.k` to `.k+1`.
fn shift(path: &Path, files: usize) -> Result<()> {
    remove(&rotated(path, files.max(1)))?;
    for index in (1..files).rev() {
        let from = rotated(path, index);
        if from.exists() {
            let to = rotated(path, index + 1);
            fs::rename(&from, &to)
                .with_context(|| format!("renaming {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Moves the live log aside as `.1` (shifting older ones), for a writer that is about to be
/// replaced: the old writer keeps appending to `.1` until it stops; the new one starts a new
/// live file. With `files` = 0 the live log is simply removed.
pub fn rotate_now(path: &Path, files: usize) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    if files == 0 {
        return remove(path);
    }
    shift(path, files)?;
    let to = rotated(path, 1);
    fs::rename(path, &to)
        .with_context(|| format!("renaming {} to {}", path.display(), to.display()))
}

/// Rotates `path` when it is larger than the policy's cap: copies it to `.1` (shifting older
/// ones, dropping the oldest) and truncates it in place. Returns whether it rotated.
pub fn rotate_if_over(path: &Path, policy: LogPolicy) -> Result<bool> {
    let size = match fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if size <= policy.max_bytes {
        return Ok(false);
    }
    if policy.files > 0 {
        shift(path, policy.files)?;
        let to = rotated(path, 1);
        fs::copy(path, &to)
            .with_context(|| format!("copying {} to {}", path.display(), to.display()))?;
    }
    let live = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    live.set_len(0)
        .with_context(|| format!("truncating {}", path.display()))?;
    Ok(true)
}

/// How many rotated files a reader looks for at most.
const MAX_ROTATED: usize = 64;
/// How much of a file a reader takes per step when looking for the last lines.
const READ_STEP: u64 = 1 << 16;

/// The last `lines` lines of the log at `path` across its rotated files (newest last), each
/// ending in a newline; empty when there is no log. `None` when neither the live file nor a
/// rotated one exists.
pub fn read_tail(path: &Path, lines: usize) -> Result<Option<String>> {
    let mut files = vec![path.to_owned()];
    files.extend(
        (1..=MAX_ROTATED)
            .map(|i| rotated(path, i))
            .take_while(|p| p.exists()),
    );
    if files.iter().all(|p| !p.exists()) {
        return Ok(None);
    }
    // Newest first: take whole files until enough lines are held.
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut held = 0;
    for file in &files {
        if held > lines {
            break;
        }
        let bytes = tail_bytes(file, lines)?;
        held += bytes.iter().filter(|&&b| b == b'\n').count();
        chunks.push(bytes);
    }
    let mut all = Vec::new();
    for mut chunk in chunks.into_iter().rev() {
        if !chunk.is_empty() && chunk.last() != Some(&b'\n') {
            chunk.push(b'\n');
        }
        all.extend(chunk);
    }
    let text = String::from_utf8_lossy(&all);
    let mut tail = crate::process::last_lines(&text, lines).join("\n");
    if !tail.is_empty() {
        tail.push('\n');
    }
    Ok(Some(tail))
}

/// At least the last `lines` lines of `path` (the whole file when shorter); empty when absent.
fn tail_bytes(path: &Path, lines: usize) -> Result<Vec<u8>> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let size = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let mut start = size;
    loop {
        start = start.saturating_sub(READ_STEP);
        file.seek(SeekFrom::Start(start))
            .with_context(|| format!("reading {}", path.display()))?;
        let mut bytes = Vec::new();
        file.by_ref()
            .take(size - start)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        if start == 0 || bytes.iter().filter(|&&b| b == b'\n').count() > lines {
            if start > 0 {
                // Drop the partial first line.
                let cut = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
                bytes.drain(..cut);
            }
            return Ok(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn append(path: &Path, text: &str) {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn logs_rotate_at_the_cap_keep_n_files_and_read_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("anvil.log");
        assert_eq!(read_tail(&log, 5).unwrap(), None);
        let policy = LogPolicy {
            max_bytes: 20,
            files: 2,
        };
        // The writer keeps its append-mode handle across rotations.
        let mut writer = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut rotations = 0;
        for i in 0..40 {
            writeln!(writer, "line {i:02}").unwrap();
            if rotate_if_over(&log, policy).unwrap() {
                rotations += 1;
            }
        }
        assert!(rotations >= 10, "{rotations}");
        assert!(fs::metadata(&log).unwrap().len() <= policy.max_bytes);
        assert!(rotated(&log, 2).exists());
        assert!(
            !rotated(&log, 3).exists(),
            "only two rotated files are kept"
        );
        for index in 1..=2 {
            assert!(fs::metadata(rotated(&log, index)).unwrap().len() <= 2 * policy.max_bytes);
        }
        // The tail spans the live file and the rotated ones, in order.
        let tail = read_tail(&log, 5).unwrap().unwrap();
        let expected: String = (35..40).map(|i| format!("line {i:02}\n")).collect();
        assert_eq!(tail, expected);
        // A bounded total: the cap times the files kept, plus one write.
        let total: u64 = [log.clone(), rotated(&log, 1), rotated(&log, 2)]
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum();
        assert!(total <= 3 * (policy.max_bytes + 8), "{total}");
        // No holes: truncation with an append writer never leaves zero bytes.
        assert!(!fs::read(&log).unwrap().contains(&0));
    }

    #[test]
    fn rotate_now_moves_the_live_file_aside() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        rotate_now(&log, 2).unwrap();
        append(&log, "first\n");
        rotate_now(&log, 2).unwrap();
        append(&log, "second\n");
        rotate_now(&log, 2).unwrap();
        append(&log, "third\n");
        rotate_now(&log, 2).unwrap();
        assert!(!log.exists());
        assert_eq!(fs::read_to_string(rotated(&log, 1)).unwrap(), "third\n");
        assert_eq!(fs::read_to_string(rotated(&log, 2)).unwrap(), "second\n");
        assert!(!rotated(&log, 3).exists());
        assert_eq!(read_tail(&log, 10).unwrap().unwrap(), "second\nthird\n");
        let long: String = (0..5000).map(|i| format!("{i}\n")).collect();
        append(&log, &long);
        assert_eq!(read_tail(&log, 2).unwrap().unwrap(), "4998\n4999\n");
    }
}
