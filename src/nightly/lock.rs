//! A lock file per partition, so two runs of the same date never overlap.
//!
//! The lock is `OUT_ROOT/.date=YYYY-MM-DD.lock`, holding the owner's process id and host name,
//! written to a file of its own and hard-linked into place (atomic on local filesystems and
//! NFSv3+, and never seen empty). It is removed when
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
            match publish_owner(path) {
                Ok(()) => {
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

/// Creates the lock at `path` already holding `PID HOST`: the owner is written to a file of
/// this process first and hard-linked into place (atomic, failing if the lock exists), so no
/// other run can ever read a lock without its owner.
fn publish_owner(path: &Path) -> std::io::Result<()> {
    let draft = path.with_extension(format!("lock-{}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&draft)
        .and_then(|mut file| {
            file.write_all(format!("{} {}\n", std::process::id(), host_name()).as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    written
}

/// Whether the lock's owner (`PID HOST`) is a process of this host that no longer runs.
fn is_stale(owner: &str) -> bool {
    let mut parts = owner.split_whitespace();
    let (Some(pid), host) = (parts.next(), parts.next()) else {
        // Locks are published whole (see `publish_owner`): an unreadable or empty one is not
        // ours to judge; treat it as held.
        return false;
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
    fn an_empty_lock_is_held_not_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        std::fs::write(&path, "").unwrap();
        let err = Lock::acquire(&path, "day").unwrap_err();
        assert_eq!(err.class(), crate::ErrorClass::Locked);
        assert!(path.exists(), "the lock is left to its owner");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no draft of the owner is left behind");
    }

    #[test]
    fn another_hosts_lock_is_respected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        std::fs::write(&path, "4294967 some-other-host\n").unwrap();
        assert!(Lock::acquire(&path, "day").is_err());
    }
}
