//! `cargo xtask` refuses bad arguments with a clear message and exit code 2, before building or
//! running anything.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn xtask(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_soak_of_a_bad_length_is_refused_with_exit_code_2() {
    for (bad, says) in [
        ("abc", "whole number of minutes from 1 to 1440, not \"abc\""),
        ("0", "at least 1"),
        ("-3", "at least 1"),
        ("2.5", "whole number"),
        ("100000", "at most 1440"),
    ] {
        let (code, stderr) = xtask(&["soak", bad]);
        assert_eq!(code, Some(2), "soak {bad}: {stderr}");
        assert!(stderr.contains(says), "soak {bad}: {stderr}");
        assert!(stderr.contains("usage: cargo xtask"), "{stderr}");
    }
    let (code, stderr) = xtask(&["soak", "2", "3"]);
    assert_eq!(code, Some(2), "{stderr}");
}
