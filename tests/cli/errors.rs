//! Exit codes, and what `--out` does when it is not writable or already holds something.

use super::*;

#[test]
fn a_bad_rule_pack_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_pack(
        &rules,
        "[[rule]]\nid = \"X-1\"\nkind = \"forbid\"\ncategory = \"compliance\"\nseverity = \"major\"\nmessage = \"m\"\nregex = ['(']\nexamples.match = [\"a\"]\nexamples.no_match = [\"b\"]\n",
    );
    let out = dir.path().join("out");
    let output = callqa(
        &[
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &fixture_inputs(),
    );
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("pack.toml:7: rule X-1: the regex does not compile"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written for a bad pack");
    let check = callqa(&["rules", "check", rules.to_str().unwrap()], &[]);
    assert_eq!(check.status.code(), Some(3));
}

#[test]
fn a_missing_input_exits_4_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = callqa(
        &[
            "run",
            "--out",
            out.to_str().unwrap(),
            "fixtures/no-such-file.jsonl",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file.jsonl"));
    assert!(!out.exists());
}

#[test]
fn an_unwritable_output_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let out = blocker.join("out");
    let output = callqa(&["run", "--out", out.to_str().unwrap()], &fixture_inputs());
    assert_eq!(output.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&output.stderr).contains("file/out"));
}

#[test]
fn a_rerun_replaces_the_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_into(&out, &fixture_inputs(), 2);
    let inputs = fixture_inputs();
    run_into(&out, &inputs[..1], 2);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 1);
    let scored = manifest["counts"]["scored"].as_u64().unwrap();
    assert_eq!(scores_by_call(&out).len() as u64, scored);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["out"], "staging folders left beside --out");
}

#[test]
fn a_folder_that_is_not_a_run_is_not_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "my notes").unwrap();
    let out = dir.path().to_str().unwrap();
    let output = callqa(&["run", "--quiet", "--out", out], &fixture_inputs());
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no callqa run") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(dir.path().join("notes.txt").exists());
    let forced = callqa(
        &["run", "--quiet", "--force", "--out", out],
        &fixture_inputs(),
    );
    assert!(forced.status.success());
    assert!(dir.path().join("manifest.json").exists());
    assert!(!dir.path().join("notes.txt").exists());
}

/// A small tmpfs mounted for one test (needs root, as in CI); unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_full_disk_exits_5_and_keeps_the_previous_run() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    let disk = Tmpfs::mount("size=256k").expect("mount a tmpfs");
    let out = disk.path().join("out");
    // A small previous run fits; the full fixtures with a large turn do not.
    let small = root().join("fixtures/broken/broken.jsonl");
    run_into(&out, std::slice::from_ref(&small), 1);
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    let big = tempfile::tempdir().unwrap();
    let input = big.path().join("big.jsonl");
    // Incompressible text with a finding every 5,000 characters: about 400 KB of excerpts.
    let mut seed: u64 = 7;
    let text: String = (0..600_000)
        .map(|i| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            if i % 5000 == 0 {
                '保'
            } else {
                char::from(b'a' + (seed >> 59) as u8)
            }
        })
        .collect::<String>()
        .replace('保', "我保证");
    std::fs::write(
        &input,
        format!(
            "{{\"call_id\":\"big\",\"agent_id\":\"a\",\"language\":\"zh\",\"turns\":[{{\"speaker\":\"agent\",\"text\":\"{text}\"}}]}}\n"
        ),
    )
    .unwrap();
    let output = callqa(
        &["run", "--quiet", "--out", out.to_str().unwrap()],
        &[input],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("disk has room") || stderr.contains("No space"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["out"],
        "the failed run's staging folder is removed"
    );
}

#[test]
fn a_read_only_folder_exits_5_naming_it() {
    if !is_root() {
        eprintln!("skipped: mounting a read-only tmpfs needs root (CI runs as root)");
        return;
    }
    let disk = Tmpfs::mount("size=64k,ro").expect("mount a read-only tmpfs");
    let out = disk.path().join("out");
    let output = callqa(
        &["run", "--quiet", "--out", out.to_str().unwrap()],
        &fixture_inputs(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains(out.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
}

#[test]
fn an_input_that_breaks_off_exits_6_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(root().join("fixtures/calls/zh.jsonl")).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &text).unwrap();
    let gz = encoder.finish().unwrap();
    let cut = dir.path().join("cut.jsonl.gz");
    std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
    let out = dir.path().join("out");
    let output = callqa(&["run", "--quiet", "--out", out.to_str().unwrap()], &[cut]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("cut.jsonl.gz: reading stopped after line"),
        "{stderr}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "incomplete");
    let scored = manifest["counts"]["scored"].as_u64().unwrap();
    assert!(scored > 0 && scored < text.split(|&b| b == b'\n').count() as u64);
    assert!(manifest["inputs"][0]["error"].is_string());
}
