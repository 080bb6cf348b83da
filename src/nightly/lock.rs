//! A lock file per partition, so two runs of the same date never overlap.
//!
//! The lock is `OUT_ROOT/.date=YYYY-MM-DD.lock`, created with `create_new` (atomic on local
//! filesystems and NFSv3+) and holding the owner's process id and host name. It is removed when
//! the run ends, whatever the outcome. A lock left by a run that died (`kill -9`, a reboot) is
//! stale: when the recorded process no longer runs on this host, the next run removes it and
//! goes on. A lock from another host is never judged stale (its process cannot be checked from
//! here); remove it by hand once that run is known to be dead.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock at `path` or fails at once with [`crate::ErrorClass::Locked`].
    pub fn acquire(path: &Path, what: &str) -> Result<Lock> {
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    let owner = format!("{} {}\n", std::process::id(), host_name());
                    file.write_all(owner.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|e| Error::output(path, "write the lock", e))?;
                    return Ok(Lock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(path).unwrap_or_default();
                    if !is_stale(&owner) {
                        let owner = owner.trim().replacen(' ', " on ", 1);
                        return Err(Error::locked(format!(
                            "{what} is being written by another callqa run (process {owner}); lock {} — if that run is dead on another host, remove the lock by hand",
                            path.display()
                        )));
                    }
                    // The owner died: its partition is whole (staging + rename), only the lock
                    // is left. Remove it and try once more; a racing run may win, then we fail.
                    let _ = std::fs::remove_file(path);
                }
                Err(e) => return Err(Error::output(path, "create the lock", e)),
            }
        }
        Err(Error::locked(format!(
            "{what}: another callqa run took the lock {} first",
            path.display()
        )))
    }

    /// Like [`Lock::acquire`], but waits up to `patience` for a live owner to finish.
    pub fn wait(path: &Path, what: &str, patience: Duration) -> Result<Lock> {
        let deadline = Instant::now() + patience;
        loop {
            match Lock::acquire(path, what) {
                Err(e) if e.class() == crate::ErrorClass::Locked && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Best effort: a lock that cannot be removed is judged stale by the next run.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the lock's owner (`PID HOST`) is a process of this host that no longer runs.
fn is_stale(owner: &str) -> bool {
    let mut parts = owner.split_whitespace();
    let (Some(pid), host) = (parts.next(), parts.next()) else {
        // An empty lock: its owner died between creating and writing it.
        return true;
    };
    if host.is_some_and(|h| h != host_name()) || pid.parse::<u32>().is_err() {
        return false;
    }
    let proc = Path::new("/proc");
    proc.exists() && !proc.join(pid).exists()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_owner_and_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".date=2026-11-25.lock");
        let first = Lock::acquire(&path, "day").unwrap();
        let err = Lock::acquire(&path, "day").unwrap_err();
        assert_eq!(err.class(), crate::ErrorClass::Locked);
        drop(first);
        assert!(!path.exists());
        Lock::acquire(&path, "day").unwrap();
    }

    #[test]
    fn a_dead_owners_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        // Process ids are below 2^22 on Linux, so this one never runs.
        std::fs::write(&path, format!("4294967 {}\n", host_name())).unwrap();
        let lock = Lock::acquire(&path, "day").unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with(&std::process::id().to_string())
        );
        drop(lock);
    }

    #[test]
    fn another_hosts_lock_is_respected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        std::fs::write(&path, "4294967 some-other-host\n").unwrap();
        assert!(Lock::acquire(&path, "day").is_err());
    }
}
