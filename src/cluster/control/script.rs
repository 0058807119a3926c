//! What the host sends to the guest shell, and how it reads the answer.
//!
//! **Sync.** `\necho __N3X_SYNC_<nonce>__\n`, repeated until the line `__N3X_SYNC_<nonce>__`
//! comes back. The leading newline ends whatever a client that went away left half-written.
//!
//! **A call** is one line, made only of unquoted words:
//!
//! ```text
//! echo <base64 of a bash script> | base64 -d | bash --noprofile --norc
//! ```
//!
//! A line cut off anywhere (the host gave up, or died, while sending it) therefore leaves no
//! open quote or bracket in the guest shell: the next newline ends it, harmlessly. The script
//! runs in a fresh bash (nothing leaks into the long-lived guest shell). It creates a private
//! temporary directory, decodes the request into it (the argv as NUL-terminated strings, or a
//! script file), runs it under `timeout` with stdin from `/dev/null` and stdout and stderr into
//! files, and prints one line:
//!
//! ```text
//! __N3X_RESULT_<nonce>__ <exit code> <base64 stdout> <base64 stderr> __N3X_END__
//! ```
//!
//! then removes the directory. The script never contains the result marker itself (it is put
//! together by `printf`), so a guest terminal that echoes input cannot fake an answer, and the
//! nonce tells this call's answer from a late answer to an earlier one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cluster::base64;

/// What the guest runs.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// A program and its arguments (no shell involved).
    Exec(&'a [String]),
    /// A bash script.
    Shell(&'a str),
}

/// Exit code the script reports when the guest cannot even run the request.
pub const SETUP_FAILED: i32 = 125;

/// A string no earlier call of any process used.
pub fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}x{:x}x{n:x}", std::process::id(), nanos)
}

/// The line a sync expects back.
pub fn sync_marker(nonce: &str) -> String {
    format!("__N3X_SYNC_{nonce}__")
}

/// What a sync sends.
pub fn sync_probe(nonce: &str) -> String {
    format!("\necho {}\n", sync_marker(nonce))
}

/// The start of the answer line of the call with `nonce`.
pub fn result_prefix(nonce: &str) -> String {
    format!("__N3X_RESULT_{nonce}__ ")
}

const END: &str = "__N3X_END__";

/// The line to send for `request`; the guest stops the request after `limit`.
pub fn command_line(request: Request<'_>, nonce: &str, limit: Duration) -> String {
    let (payload, run) = match request {
        Request::Exec(argv) => {
            let mut joined = Vec::new();
            for arg in argv {
                joined.extend_from_slice(arg.as_bytes());
                joined.push(0);
            }
            (
                joined,
                "mapfile -d '' -t a < \"$d/in\"\n  \"${t[@]}\" \"${a[@]}\"",
            )
        }
        Request::Shell(script) => (
            script.as_bytes().to_vec(),
            "\"${t[@]}\" bash --noprofile --norc \"$d/in\"",
        ),
    };
    let payload = base64::encode(&payload);
    let limit = limit.as_secs_f64().max(0.001);
    let script = format!(
        r#"n3x_result() {{
  printf '%s_%s__ %s ' __N3X_RESULT {nonce} "$1"
  base64 -w0 < "$2"; printf ' '; base64 -w0 < "$3"; printf ' {END}\n'
}}
n3x_fail() {{ n3x_result {SETUP_FAILED} /dev/null <(printf 'n3x control channel: %s\n' "$1"); }}
n3x_main() {{
  umask 077
  d=$(mktemp -d "${{TMPDIR:-/tmp}}/.n3x-ctl.XXXXXXXX") || {{ n3x_fail 'cannot create a temporary directory in the guest'; return; }}
  trap 'rm -rf "$d"' EXIT
  printf %s {payload} | base64 -d > "$d/in" || {{ n3x_fail 'cannot decode the request in the guest'; return; }}
  t=()
  if command -v timeout > /dev/null; then t=(timeout -k 1 {limit:.3}); fi
  {run} < /dev/null > "$d/o" 2> "$d/e"
  n3x_result $? "$d/o" "$d/e"
}}
n3x_main
"#
    );
    format!(
        "echo {} | base64 -d | bash --noprofile --norc\n",
        base64::encode(script.as_bytes())
    )
}

/// A decoded answer line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The exit code.
    pub code: i32,
    /// What the request wrote to stdout.
    pub stdout: Vec<u8>,
    /// What the request wrote to stderr.
    pub stderr: Vec<u8>,
}

/// The answer in `line`, which starts with [`result_prefix`]; `Err` says what is wrong with it.
pub fn parse_answer(line: &[u8], prefix: &str) -> Result<Answer, String> {
    let rest = line
        .strip_prefix(prefix.as_bytes())
        .ok_or_else(|| "the answer does not start with its marker".to_string())?;
    let fields: Vec<&[u8]> = rest.split(|&b| b == b' ').collect();
    let [code, stdout, stderr, end] = fields.as_slice() else {
        return Err(format!("the answer has {} fields, not 4", fields.len()));
    };
    if *end != END.as_bytes() {
        return Err(format!("the answer does not end with {END}"));
    }
    let code = std::str::from_utf8(code)
        .ok()
        .and_then(|c| c.parse::<i32>().ok())
        .ok_or_else(|| {
            format!(
                "exit code {:?} is not a number",
                String::from_utf8_lossy(code)
            )
        })?;
    let stdout = base64::decode(stdout).map_err(|e| format!("stdout: {e}"))?;
    let stderr = base64::decode(stderr).map_err(|e| format!("stderr: {e}"))?;
    Ok(Answer {
        code,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_unquoted_words_and_never_holds_the_markers() {
        let argv = vec!["echo".to_string(), "it's \"$x\" `y`; z\n".to_string()];
        for request in [Request::Exec(&argv), Request::Shell("echo '__N3X_END__'")] {
            let line = command_line(request, "abc", Duration::from_secs(3));
            let words: Vec<&str> = line.trim_end().split(' ').collect();
            assert_eq!(words.len(), 9, "{line}");
            assert_eq!(words[0], "echo");
            assert_eq!(
                words[2..],
                ["|", "base64", "-d", "|", "bash", "--noprofile", "--norc"]
            );
            assert!(
                words[1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            );
            let script = base64::decode(words[1].as_bytes()).unwrap();
            let script = String::from_utf8(script).unwrap();
            assert!(!script.contains(&result_prefix("abc")), "{script}");
            assert!(!script.contains("__N3X_SYNC_"), "{script}");
            assert!(script.contains("timeout -k 1 3.000"), "{script}");
            assert!(!script.contains("it's"), "the request travels encoded");
        }
        assert!(!sync_probe("abc").contains('\''));
        assert_eq!(sync_probe("abc"), "\necho __N3X_SYNC_abc__\n");
    }

    #[test]
    fn answers_parse_and_bad_ones_say_why() {
        let prefix = result_prefix("n1");
        let line = format!("{prefix}3 b3V0Cg== ZXJyCg== __N3X_END__");
        let answer = parse_answer(line.as_bytes(), &prefix).unwrap();
        assert_eq!(answer.code, 3);
        assert_eq!(answer.stdout, b"out\n");
        assert_eq!(answer.stderr, b"err\n");
        let empty = format!("{prefix}0   __N3X_END__");
        let answer = parse_answer(empty.as_bytes(), &prefix).unwrap();
        assert!(answer.stdout.is_empty() && answer.stderr.is_empty());
        for bad in [
            "x 0   __N3X_END__",
            "0  __N3X_END__",
            "zero   __N3X_END__",
            "0 Zg= Zg== __N3X_END__",
        ] {
            let line = format!("{prefix}{bad}");
            assert!(parse_answer(line.as_bytes(), &prefix).is_err(), "{bad}");
        }
        assert!(parse_answer(b"nope", &prefix).is_err());
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert!(nonce().bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
