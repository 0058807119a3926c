//! What the host sends to the guest shell, and how it reads the answer.
//!
//! **Sync.** `\necho __N3X_SYNC_<nonce>__\n`, repeated until the line `__N3X_SYNC_<nonce>__`
//! comes back. The leading newline ends whatever a client that went away left half-written.
//!
//! **A call** is one line, made only of unquoted words:
//!
//! ```text
//! exec 3<&0; echo <base64 of a bash script> | base64 -d | bash --noprofile --norc
//! ```
//!
//! A line cut off anywhere (the host gave up, or died, while sending it) therefore leaves no
//! open quote or bracket in the guest shell: the next newline ends it, harmlessly. `exec 3<&0`
//! hands the channel's input to the script as fd 3, for acknowledgements. The script runs in a
//! fresh bash (nothing leaks into the long-lived guest shell). It creates private files named
//! after the nonce in `$TMPDIR` (or `/tmp`), refusing ones that exist, decodes the request into
//! one (the argv as NUL-terminated strings, or a script), runs it under `timeout` with stdin
//! from `/dev/null` and stdout and stderr into files, and answers:
//!
//! ```text
//! __N3X_CHUNK_<nonce>__ <o|e> <index> <32 KiB of base64>    (big output only; the host
//!                                                            answers `: ack <nonce> o<index>`)
//! __N3X_RESULT_<nonce>__ <exit code> <base64 stdout> <base64 stderr>
//!                        <sha256 stdout> <sha256 stderr> __N3X_END__          (on one line)
//! ```
//!
//! then removes its files. A stream of at most 32 KiB of base64 travels in the result line;
//! a bigger one travels in chunks before it, and the result line has an empty field. QEMU
//! drops a virtio console's output when the host socket is full, and the guest can write far
//! faster than a busy host reads: the acknowledgements keep at most one chunk on the way, and
//! the SHA-256 sums tell when bytes were lost anyway. An acknowledgement that reaches the guest
//! shell itself (the script gave up waiting) is the no-op command `:`.
//!
//! The script never contains the markers it prints (they are put together by `printf`), so a
//! guest terminal that echoes input cannot fake an answer, and the nonce tells this call's
//! answer from a late answer to an earlier one. Few programs run per call (`base64` four times,
//! `sha256sum`, `timeout`, the command, `rm`): each costs tens of milliseconds in a TCG guest.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

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

/// Base64 characters per chunk, and the most a stream carries in the result line.
pub const CHUNK: usize = 32 * 1024;

/// How long the guest waits for an acknowledgement before it gives up on the answer.
const ACK_WAIT_SECS: u32 = 10;

const END: &str = "__N3X_END__";

/// The SHA-256 of nothing.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

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
                "mapfile -d '' -t a < \"$f.in\"\n  \"${t[@]}\" \"${a[@]}\"",
            )
        }
        Request::Shell(script) => (
            script.as_bytes().to_vec(),
            "\"${t[@]}\" bash --noprofile --norc \"$f.in\"",
        ),
    };
    let payload = base64::encode(&payload);
    let limit = limit.as_secs_f64().max(0.001);
    let more = CHUNK + 1;
    let script = format!(
        r#"n3x_stream() {{
  local piece k=0 ack
  n3x_inline=
  IFS= read -r -N {more} piece < "$2"
  if (( ${{#piece}} <= {CHUNK} )); then n3x_inline=$piece; return 0; fi
  while IFS= read -r -N {CHUNK} piece || [[ -n $piece ]]; do
    printf '%s_%s__ %s %s %s\n' __N3X_CHUNK {nonce} "$1" "$k" "$piece"
    IFS= read -r -u 3 -t {ACK_WAIT_SECS} ack && [[ $ack == ": ack {nonce} $1$k" ]] || return 1
    k=$((k+1))
  done < "$2"
}}
n3x_result() {{
  local so se out
  {{ read -r -d '' so _; read -r -d '' se _; }} < <(sha256sum -z -- "$2" "$3")
  base64 -w0 < "$2" > "$f.ob" && base64 -w0 < "$3" > "$f.eb" || {{ n3x_fail 'cannot encode the output in the guest'; return; }}
  n3x_stream o "$f.ob" || return
  out=$n3x_inline
  n3x_stream e "$f.eb" || return
  printf '%s_%s__ %s %s %s %s %s {END}\n' __N3X_RESULT {nonce} "$1" "$out" "$n3x_inline" "$so" "$se"
}}
n3x_fail() {{
  local m="n3x control channel: $1" se
  se=$(sha256sum <<< "$m")
  printf '%s_%s__ %s  %s %s %s {END}\n' __N3X_RESULT {nonce} {SETUP_FAILED} "$(base64 -w0 <<< "$m")" {EMPTY_SHA256} "${{se%% *}}"
}}
n3x_main() {{
  umask 077
  f="${{TMPDIR:-/tmp}}/.n3x-ctl-{nonce}"
  set -C
  {{ : > "$f.in" && : > "$f.o" && : > "$f.e" && : > "$f.ob" && : > "$f.eb"; }} 2> /dev/null || {{ n3x_fail "cannot create $f.*"; return; }}
  set +C
  trap 'rm -f "$f.in" "$f.o" "$f.e" "$f.ob" "$f.eb"' EXIT
  base64 -d <<< '{payload}' > "$f.in" || {{ n3x_fail 'cannot decode the request in the guest'; return; }}
  t=()
  if command -v timeout > /dev/null; then t=(timeout -k 1 {limit:.3}); fi
  {run} < /dev/null > "$f.o" 2> "$f.e"
  n3x_result $? "$f.o" "$f.e"
}}
n3x_main
"#
    );
    format!(
        "exec 3<&0; echo {} | base64 -d | bash --noprofile --norc\n",
        base64::encode(script.as_bytes())
    )
}

/// A decoded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The exit code.
    pub code: i32,
    /// What the request wrote to stdout.
    pub stdout: Vec<u8>,
    /// What the request wrote to stderr.
    pub stderr: Vec<u8>,
}

/// What a line meant to the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Not ours: earlier output, a late answer to an earlier call, noise.
    Other,
    /// A chunk, taken; send this acknowledgement.
    Chunk(String),
    /// The answer.
    Answer(Answer),
}

/// Why an answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// It arrived damaged: what is wrong.
    Damaged(String),
    /// It holds more than the limit.
    TooLarge,
}

/// Puts an answer together from the lines of one call.
#[derive(Debug)]
pub struct Collector {
    nonce: String,
    chunk_prefix: String,
    result_prefix: String,
    /// Base64 of stdout and stderr, from chunks.
    streams: [Vec<u8>; 2],
    /// The index the next chunk of each stream must have.
    next: [usize; 2],
    /// The most base64 the streams may hold together.
    limit: usize,
}

impl Collector {
    /// For the call with `nonce`, taking at most `limit` bytes of stdout and stderr together.
    pub fn new(nonce: &str, limit: usize) -> Self {
        Collector {
            nonce: nonce.to_string(),
            chunk_prefix: format!("__N3X_CHUNK_{nonce}__ "),
            result_prefix: format!("__N3X_RESULT_{nonce}__ "),
            streams: [Vec::new(), Vec::new()],
            next: [0, 0],
            limit: limit.div_ceil(3) * 4 + 8,
        }
    }

    /// Whether a line this long (cut or not) can be part of the answer: chunks and result
    /// lines are at most this long.
    pub fn max_line(&self) -> usize {
        self.result_prefix.len() + 2 * CHUNK + 2 * 64 + 64
    }

    /// Take one line (`cut`: longer than [`Collector::max_line`]).
    pub fn take(&mut self, line: &[u8], cut: bool) -> Result<Seen, Problem> {
        let damaged = |why: &str| Err(Problem::Damaged(why.to_string()));
        if let Some(rest) = line.strip_prefix(self.chunk_prefix.as_bytes()) {
            if cut {
                return damaged("a chunk is too long");
            }
            let mut fields = rest.splitn(3, |&b| b == b' ');
            let (Some(tag), Some(index), Some(piece)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return damaged("a chunk has too few fields");
            };
            let stream = match tag {
                b"o" => 0,
                b"e" => 1,
                _ => return damaged("a chunk names no stream"),
            };
            if index != self.next[stream].to_string().as_bytes() {
                return damaged("a chunk is missing");
            }
            self.next[stream] += 1;
            self.streams[stream].extend_from_slice(piece);
            if self.streams[0].len() + self.streams[1].len() > self.limit {
                return Err(Problem::TooLarge);
            }
            let tag = if stream == 0 { 'o' } else { 'e' };
            let index = self.next[stream] - 1;
            return Ok(Seen::Chunk(format!(": ack {} {tag}{index}\n", self.nonce)));
        }
        let Some(rest) = line.strip_prefix(self.result_prefix.as_bytes()) else {
            return Ok(Seen::Other);
        };
        if cut {
            return damaged("the result line is too long");
        }
        self.answer(rest)
            .map(Seen::Answer)
            .map_err(Problem::Damaged)
    }

    fn answer(&mut self, rest: &[u8]) -> Result<Answer, String> {
        let fields: Vec<&[u8]> = rest.split(|&b| b == b' ').collect();
        let [code, stdout, stderr, stdout_sum, stderr_sum, end] = fields.as_slice() else {
            return Err(format!("the result has {} fields, not 6", fields.len()));
        };
        if *end != END.as_bytes() {
            return Err(format!("the result does not end with {END}"));
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
        let [mut out, mut err] = std::mem::take(&mut self.streams);
        out.extend_from_slice(stdout);
        err.extend_from_slice(stderr);
        Ok(Answer {
            code,
            stdout: decode("stdout", &out, stdout_sum)?,
            stderr: decode("stderr", &err, stderr_sum)?,
        })
    }
}

/// The bytes of `text`, checked against the guest's SHA-256 of them.
fn decode(name: &str, text: &[u8], sum: &[u8]) -> Result<Vec<u8>, String> {
    let bytes = base64::decode(text).map_err(|e| format!("{name}: {e}"))?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if digest.as_bytes() != sum {
        return Err(format!(
            "{name}: {} bytes arrived, but not the ones the guest sent (SHA-256 differs)",
            bytes.len()
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT_SUM: &str = "54034ac5c6e9ea95734ec2b729fd6d62abf64af34a9f9ce5d466cb788191a73d";
    const ERR_SUM: &str = "2ccde4875ec595757efdf23d7b1336fcd69cf0fb869310b12a0d219c52817b20";

    #[test]
    fn the_line_is_unquoted_words_and_never_holds_the_markers() {
        let argv = vec!["echo".to_string(), "it's \"$x\" `y`; z\n".to_string()];
        for request in [Request::Exec(&argv), Request::Shell("echo '__N3X_END__'")] {
            let line = command_line(request, "abc", Duration::from_secs(3));
            let words: Vec<&str> = line.trim_end().split(' ').collect();
            assert_eq!(words.len(), 11, "{line}");
            assert_eq!(words[..3], ["exec", "3<&0;", "echo"]);
            assert_eq!(
                words[4..],
                ["|", "base64", "-d", "|", "bash", "--noprofile", "--norc"]
            );
            assert!(
                words[3]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            );
            let script = base64::decode(words[3].as_bytes()).unwrap();
            let script = String::from_utf8(script).unwrap();
            for marker in ["__N3X_RESULT_abc", "__N3X_CHUNK_abc", "__N3X_SYNC_"] {
                assert!(!script.contains(marker), "{marker} in {script}");
            }
            assert!(script.contains("timeout -k 1 3.000"), "{script}");
            assert!(!script.contains("it's"), "the request travels encoded");
        }
        assert_eq!(sync_probe("abc"), "\necho __N3X_SYNC_abc__\n");
    }

    fn result(collector: &mut Collector, rest: &str) -> Result<Seen, Problem> {
        let line = format!("__N3X_RESULT_n1__ {rest}");
        collector.take(line.as_bytes(), false)
    }

    #[test]
    fn answers_in_the_result_line_parse_and_bad_ones_say_why() {
        let mut c = Collector::new("n1", 1000);
        let got = result(
            &mut c,
            &format!("3 b3V0Cg== ZXJyCg== {OUT_SUM} {ERR_SUM} {END}"),
        );
        let expected = Answer {
            code: 3,
            stdout: b"out\n".to_vec(),
            stderr: b"err\n".to_vec(),
        };
        assert_eq!(got, Ok(Seen::Answer(expected)));
        let e = EMPTY_SHA256;
        let got = result(&mut c, &format!("0   {e} {e} {END}"));
        assert!(matches!(got, Ok(Seen::Answer(a)) if a.stdout.is_empty() && a.stderr.is_empty()));
        let bad = [
            format!("x 0   {e} {e} {END}"),
            format!("0   {e} {e}"),
            format!("0   {e} {e} __N3X_END"),
            format!("zero   {e} {e} {END}"),
            format!("0 Zg= Zg== {e} {e} {END}"),
        ];
        for bad in bad {
            assert!(
                matches!(result(&mut c, &bad), Err(Problem::Damaged(_))),
                "{bad}"
            );
        }
        // Bytes changed on the way are noticed.
        let got = result(
            &mut c,
            &format!("3 b3VUCg== ZXJyCg== {OUT_SUM} {ERR_SUM} {END}"),
        );
        let why = "stdout: 4 bytes arrived, but not the ones the guest sent (SHA-256 differs)";
        assert_eq!(got, Err(Problem::Damaged(why.into())));
        // Other lines are not ours.
        for other in [&b"__N3X_RESULT_n2__ 0"[..], b"hello", b""] {
            assert_eq!(c.take(other, false), Ok(Seen::Other));
        }
    }

    #[test]
    fn chunks_are_acknowledged_in_order_and_joined() {
        let mut c = Collector::new("n1", 1000);
        for (line, ack) in [
            ("__N3X_CHUNK_n1__ o 0 b3V0", ": ack n1 o0\n"),
            ("__N3X_CHUNK_n1__ o 1 Cg==", ": ack n1 o1\n"),
            ("__N3X_CHUNK_n1__ e 0 ZXJyCg==", ": ack n1 e0\n"),
        ] {
            assert_eq!(c.take(line.as_bytes(), false), Ok(Seen::Chunk(ack.into())));
        }
        let got = result(&mut c, &format!("0   {OUT_SUM} {ERR_SUM} {END}"));
        assert!(matches!(got, Ok(Seen::Answer(a)) if a.stdout == b"out\n" && a.stderr == b"err\n"));

        let mut c = Collector::new("n1", 1000);
        c.take(b"__N3X_CHUNK_n1__ o 0 b3V0", false).unwrap();
        let skipped = c.take(b"__N3X_CHUNK_n1__ o 2 b3V0", false);
        assert_eq!(skipped, Err(Problem::Damaged("a chunk is missing".into())));
        let mut c = Collector::new("n1", 3);
        assert_eq!(
            c.take(b"__N3X_CHUNK_n1__ o 0 b3V0", false),
            Ok(Seen::Chunk(": ack n1 o0\n".into()))
        );
        let big = c.take(b"__N3X_CHUNK_n1__ o 1 b3V0Cg==b3V0", false);
        assert_eq!(big, Err(Problem::TooLarge));
        let cut = c.take(b"__N3X_CHUNK_n1__ e 0 b3V0", true);
        assert!(matches!(cut, Err(Problem::Damaged(_))));
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert!(nonce().bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
