#!/usr/bin/env bash
# Black-box tests of the sibyl program as a user sees it: files left in the
# directory, their bytes, modes and times, exit status, and the messages on
# standard error.
#
#   usage: tests/cli/cli_test.sh path/to/sibyl
#
# Prints one line per check, "ok - NAME", "FAIL - NAME: DETAIL", or
# "ok - NAME # SKIP REASON" when a check cannot run on this machine, and
# exits 1 if any check failed (2 on a usage or setup error).
#
# Needs bash, coreutils and python3 (for deterministic inputs and byte
# flips); uses util-linux script(1) and setpriv(1) when present.
set -u
export LC_ALL=C

if [ $# -ne 1 ]; then
  echo "usage: $0 path/to/sibyl" >&2
  exit 2
fi
case $1 in
  /*) SIBYL=$1 ;;
  *) SIBYL=$PWD/$1 ;;
esac
if [ ! -f "$SIBYL" ] || [ ! -x "$SIBYL" ]; then
  echo "$0: $1: not an executable file" >&2
  exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sibyl-cli.XXXXXX") || exit 2
BGPID=
cleanup() {
  if [ -n "$BGPID" ]; then
    kill -KILL "$BGPID" 2>/dev/null
    wait "$BGPID" 2>/dev/null
  fi
  cd / && chmod -R u+rwx "$TMP" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

LIMIT=60          # seconds any single run of sibyl may take
OUT=$TMP/stdout   # stdout and stderr of the last run
ERR=$TMP/stderr

# ------------------------------------------------------------- reporting

FAILS=0
CHECKS=0
NAME=
CTX=
P=()

begin() {
  NAME=$1
  CTX=
  P=()
}
problem() { P+=("${CTX:+[$CTX] }$*"); }
end() {
  CHECKS=$((CHECKS + 1))
  if [ ${#P[@]} -eq 0 ]; then
    echo "ok - $NAME"
    return
  fi
  local detail=${P[0]} i
  for ((i = 1; i < ${#P[@]} && i < 6; i++)); do detail+="; ${P[i]}"; done
  [ ${#P[@]} -le 6 ] || detail+="; (and $((${#P[@]} - 6)) more problems)"
  echo "FAIL - $NAME: $detail"
  FAILS=$((FAILS + 1))
}
skip() {
  CHECKS=$((CHECKS + 1))
  echo "ok - $1 # SKIP $2"
}

# ------------------------------------------------------------- running

# run CMD...: runs CMD with stdin $IN (default /dev/null) and stdout $TO
# (default $OUT), stderr to $ERR; sets RC.
run() {
  : >"$OUT"
  timeout "$LIMIT" "$@" <"${IN:-/dev/null}" >"${TO:-$OUT}" 2>"$ERR"
  RC=$?
  if [ "$RC" -eq 124 ]; then problem "'$*' timed out after ${LIMIT}s"; fi
}

# shown FILE: the start of FILE on one line, non-printable bytes as '?'.
shown() { head -c 300 "$1" | tr '\n' '|' | tr -c '[:print:]' '?'; }

want_rc() {
  if [ "$RC" != "$1" ]; then
    if [ -s "$ERR" ]; then
      problem "exit status $RC, expected $1 (stderr: $(shown "$ERR"))"
    else
      problem "exit status $RC, expected $1"
    fi
  fi
}
want_no_stdout() { [ ! -s "$OUT" ] || problem "unexpected stdout ($(wc -c <"$OUT") bytes)"; }
want_no_stderr() { [ ! -s "$ERR" ] || problem "unexpected stderr: $(shown "$ERR")"; }
want_quiet() {
  want_no_stdout
  want_no_stderr
}

# want_error NAME [TEXT]: stderr is exactly one line "sibyl: NAME: reason"
# (containing TEXT if given).
want_error() {
  local L=()
  mapfile -t L <"$ERR"
  if [ ${#L[@]} -ne 1 ] || [ "$(wc -l <"$ERR")" -ne 1 ]; then
    problem "expected exactly one line on stderr, got ${#L[@]}: $(shown "$ERR")"
    return
  fi
  if ! [[ ${L[0]} =~ ^sibyl:\ .+:\ .+$ ]]; then
    problem "stderr is not of the form 'sibyl: NAME: reason': ${L[0]}"
  elif [[ ${L[0]} != "sibyl: $1: "?* ]]; then
    problem "stderr does not name '$1': ${L[0]}"
  fi
  if [ -n "${2:-}" ] && [[ ${L[0]} != *"$2"* ]]; then problem "stderr does not say '$2': ${L[0]}"; fi
}

# want_usage_error TEXT: stderr is exactly one line "sibyl: message"
# containing TEXT (no file name is involved in a usage error).
want_usage_error() {
  local L=()
  mapfile -t L <"$ERR"
  if [ ${#L[@]} -ne 1 ] || [ "$(wc -l <"$ERR")" -ne 1 ]; then
    problem "expected exactly one line on stderr, got ${#L[@]}: $(shown "$ERR")"
    return
  fi
  [[ ${L[0]} =~ ^sibyl:\ .+$ ]] || problem "stderr is not of the form 'sibyl: message': ${L[0]}"
  [[ ${L[0]} == *"$1"* ]] || problem "stderr does not mention '$1': ${L[0]}"
}

# want_same FILE EXPECTED: byte-exact comparison.
want_same() {
  if [ ! -f "$1" ]; then
    problem "$1 is missing"
  elif ! cmp -s "$1" "$2"; then
    problem "$1 differs from $(basename "$2") ($(wc -c <"$1") vs $(wc -c <"$2") bytes)"
  fi
}

# want_files NAME...: the current directory holds exactly these entries,
# hidden ones included.
want_files() {
  local got exp=
  got=$(ls -A | tr '\n' ' ')
  [ $# -eq 0 ] || exp=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  [ "$got" = "$exp" ] || problem "directory holds [${got% }], expected [${exp% }]"
}

# snap: names, types, modes, sizes, times and checksums of every entry of
# the current directory.
snap() {
  local f
  while IFS= read -r f; do
    if [ -f "$f" ]; then
      printf '%s %s %s\n' "$f" "$(stat -c '%a %s %Y' -- "$f")" "$(cksum <"$f" 2>/dev/null || echo unreadable)"
    else
      printf '%s %s\n' "$f" "$(stat -c '%F %a' -- "$f")"
    fi
  done < <(ls -A)
}

# want_unchanged SNAPSHOT: no entry appeared, vanished or changed.
want_unchanged() {
  local now line names=
  now=$(snap)
  [ "$now" != "$1" ] || return 0
  while IFS= read -r line; do [ -z "$line" ] || names+="${line%% *} "; done <<<"$1"
  local got
  got=$(ls -A | tr '\n' ' ')
  if [ "$got" != "$names" ]; then
    problem "directory holds [${got% }], expected [${names% }]"
  else
    problem "input changed: [$(tr '\n' '|' <<<"$1")] became [$(tr '\n' '|' <<<"$now")]"
  fi
}

# bad NAME CMD...: CMD fails with exit status 1 and exactly one error line
# naming NAME, writes nothing to stdout and leaves the directory as it was.
bad() {
  local who=$1 before
  shift
  before=$(snap)
  run "$@"
  want_rc 1
  want_no_stdout
  want_error "$who"
  want_unchanged "$before"
}

# bad_usage TEXT CMD...: as bad, for errors that concern no file.
bad_usage() {
  local text=$1 before
  shift
  before=$(snap)
  run "$@"
  want_rc 1
  want_no_stdout
  want_usage_error "$text"
  want_unchanged "$before"
}

CASE=0
newdir() {
  CASE=$((CASE + 1))
  cd "$TMP" && mkdir "case$CASE" && cd "case$CASE" || {
    echo "cannot create $TMP/case$CASE" >&2
    exit 2
  }
}

# list_value HEADER ROW COLUMN PREVIOUS: the value of the right-aligned
# column COLUMN of a --list row (between the ends of PREVIOUS and COLUMN in
# the header).
list_value() {
  local hdr=$1 row=$2 col=$3 prev=$4 a b v
  if [[ $hdr != *"$prev"*"$col"* ]]; then
    printf '?'
    return
  fi
  a=${hdr%%"$prev"*}
  a=$((${#a} + ${#prev}))
  b=${hdr%%"$col"*}
  b=$((${#b} + ${#col}))
  v=${row:a:b-a}
  v=${v#"${v%%[! ]*}"}
  v=${v%"${v##*[! ]}"}
  printf '%s' "$v"
}

# list_row FILE: sets HDR and ROW from the --list output in $OUT.
list_row() {
  local L=() l
  mapfile -t L <"$OUT"
  HDR=${L[0]:-}
  ROW=
  for l in "${L[@]}"; do [[ $l != *" $1" ]] || ROW=$l; done
}

flip() {  # flip FILE OFFSET: inverts the lowest bit of one byte
  python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[o] ^= 1
open(p, "wb").write(bytes(b))' "$1" "$2"
}

# ------------------------------------------------------------- inputs

SRC=$TMP/src
mkdir "$SRC" || exit 2
python3 - "$SRC" <<'EOF' || { echo "cannot generate inputs" >&2; exit 2; }
import os, random, sys
d = sys.argv[1]
r = random.Random(20240611)
words = ("the quick brown fox jumps over a lazy dog while sibyl reads every block "
         "of the archive and mixes its context models into one prediction").split()
text, n = [], 0
while n < 150_000:
    line = " ".join(r.choice(words) for _ in range(r.randint(3, 14))) + r.choice(".,;!?")
    text.append(line)
    n += len(line) + 1
open(os.path.join(d, "text.txt"), "w").write("\n".join(text) + "\n")
open(os.path.join(d, "rand.bin"), "wb").write(r.randbytes(48 * 1024))
g = bytearray(r.randbytes(1000))
g[0] = ord("G")  # never the frame magic
open(os.path.join(d, "garbage"), "wb").write(bytes(g))
EOF
TXT=$SRC/text.txt
BIN=$SRC/rand.bin
GARBAGE=$SRC/garbage
GOOD=$SRC/good.sby  # a valid archive of text.txt
"$SIBYL" -1 -c "$TXT" >"$GOOD" 2>/dev/null </dev/null && "$SIBYL" -d -c "$GOOD" 2>/dev/null | cmp -s - "$TXT" || {
  echo "Bail out! $SIBYL cannot even round-trip a text file" >&2
  echo "FAIL - basic round trip: sibyl -1 -c / -d -c of a text file failed"
  exit 1
}
GOOD_SIZE=$(stat -c %s "$GOOD")

# ============================================================= 1. round trips

newdir
cp "$TXT" f.txt
begin "compress FILE writes FILE.sby and keeps FILE"
run "$SIBYL" -1 f.txt
want_rc 0
want_quiet
want_files f.txt f.txt.sby
want_same f.txt "$TXT"
[ ! -f f.txt.sby ] || [ -s f.txt.sby ] || problem "f.txt.sby is empty"
end

begin "decompress FILE.sby restores FILE byte-exact and keeps FILE.sby"
mv f.txt orig.txt
run "$SIBYL" -d f.txt.sby
want_rc 0
want_quiet
want_files f.txt f.txt.sby orig.txt
want_same f.txt "$TXT"
end

begin "-c writes the archive to stdout and creates no file"
TO=c.sby run "$SIBYL" -1 -c f.txt
want_rc 0
want_no_stderr
want_files c.sby f.txt f.txt.sby orig.txt
want_same c.sby f.txt.sby
end

begin "-d -c writes the original to stdout and creates no file"
TO=c.out run "$SIBYL" -d -c c.sby
want_rc 0
want_no_stderr
want_files c.out c.sby f.txt f.txt.sby orig.txt
want_same c.out "$TXT"
end

begin "stdin to stdout: sibyl < f > f.sby; sibyl -d < f.sby > f.out"
IN=f.txt TO=s.sby run "$SIBYL" -1
want_rc 0
want_no_stderr
want_same s.sby f.txt.sby
IN=s.sby TO=s.out run "$SIBYL" -d
want_rc 0
want_no_stderr
want_same s.out "$TXT"
end

newdir
cp "$TXT" f.txt
begin "-o OUT writes OUT (compress and decompress)"
run "$SIBYL" -1 -o packed.bin f.txt
want_rc 0
want_quiet
want_files f.txt packed.bin
run "$SIBYL" -d -o back.txt packed.bin
want_rc 0
want_quiet
want_files back.txt f.txt packed.bin
want_same back.txt "$TXT"
end

newdir
cp "$TXT" g.txt
begin "--rm removes the input after success (compress and decompress)"
run "$SIBYL" -1 --rm g.txt
want_rc 0
want_quiet
want_files g.txt.sby
run "$SIBYL" -d --rm g.txt.sby
want_rc 0
want_quiet
want_files g.txt
want_same g.txt "$TXT"
end

newdir
: >e
begin "empty file round trip"
run "$SIBYL" -1 e
want_rc 0
want_quiet
want_files e e.sby
[ ! -f e.sby ] || [ -s e.sby ] || problem "e.sby is empty (even an empty archive has a frame)"
mv e e.orig
run "$SIBYL" -d e.sby
want_rc 0
want_quiet
want_files e e.orig e.sby
[ -f e ] && [ ! -s e ] || problem "decompressed e is not an empty file"
TO=e.out run "$SIBYL" -d -c e.sby
want_rc 0
[ ! -s e.out ] || problem "-d -c of e.sby wrote $(wc -c <e.out) bytes"
end

for lvl in 1 9; do
  newdir
  cp "$TXT" f.txt
  begin "level -$lvl round trip (and -l shows level -$lvl)"
  run "$SIBYL" -$lvl f.txt
  want_rc 0
  want_quiet
  run "$SIBYL" -l f.txt.sby
  want_rc 0
  list_row f.txt.sby
  v=$(list_value "$HDR" "$ROW" Level Ratio)
  [ "$v" = "-$lvl" ] || problem "-l shows level '$v'"
  mv f.txt orig.txt
  run "$SIBYL" -d f.txt.sby
  want_rc 0
  want_quiet
  want_files f.txt f.txt.sby orig.txt
  want_same f.txt "$TXT"
  end
done

newdir
cp "$TXT" f.txt
begin "-T 2 writes the same bytes as -T 1"
TO=t1.sby run "$SIBYL" -1 -T 1 -c f.txt
want_rc 0
TO=t2.sby run "$SIBYL" -1 -T 2 -c f.txt
want_rc 0
want_same t2.sby t1.sby
TO=t2.out run "$SIBYL" -d -T 2 -c t2.sby
want_rc 0
want_same t2.out "$TXT"
end

begin "compressing twice gives identical bytes"
TO=a1.sby run "$SIBYL" -1 -c f.txt
want_rc 0
TO=a2.sby run "$SIBYL" -1 -c f.txt
want_rc 0
want_same a2.sby a1.sby
end

newdir
cp "$TXT" a.txt
cp "$BIN" b.bin
cat a.txt b.bin >ab.expected
begin "concatenated archives decode to the concatenation (text + incompressible)"
run "$SIBYL" -1 a.txt b.bin
want_rc 0
want_quiet
cat a.txt.sby b.bin.sby >ab.sby 2>/dev/null
TO=ab.out run "$SIBYL" -d -c ab.sby
want_rc 0
want_no_stderr
want_same ab.out ab.expected
run "$SIBYL" -d ab.sby
want_rc 0
want_quiet
want_same ab ab.expected
run "$SIBYL" -t ab.sby
want_rc 0
want_quiet
end

begin "-t on a good archive exits 0 and writes nothing"
before=$(snap)
run "$SIBYL" -t a.txt.sby
want_rc 0
want_quiet
want_unchanged "$before"
end

begin "-l prints a row with the file name and a Memory value, exit 0"
before=$(snap)
run "$SIBYL" -l a.txt.sby
want_rc 0
want_no_stderr
want_unchanged "$before"
list_row a.txt.sby
if [ -z "$ROW" ]; then
  problem "no line ends with the file name: $(shown "$OUT")"
else
  v=$(list_value "$HDR" "$ROW" Memory Level)
  [[ $v =~ ^[1-9][0-9]*\ (KiB|MiB|GiB)$ ]] || problem "Memory column shows '$v' (header: $HDR; row: $ROW)"
fi
end

# ============================================================= 2. mode and mtime

newdir
cp "$TXT" m.txt
chmod 640 m.txt
touch -d '2001-02-03 04:05:06' m.txt
want_stat=$(stat -c '%a %Y' m.txt)
begin "compression gives FILE.sby the mode (640) and mtime of FILE"
run "$SIBYL" -1 m.txt
want_rc 0
got=$(stat -c '%a %Y' m.txt.sby 2>&1)
[ "$got" = "$want_stat" ] || problem "m.txt.sby has mode and mtime '$got', expected '$want_stat'"
end

begin "decompression gives FILE the mode (640) and mtime of FILE.sby"
mv m.txt m.orig
run "$SIBYL" -d m.txt.sby
want_rc 0
got=$(stat -c '%a %Y' m.txt 2>&1)
[ "$got" = "$want_stat" ] || problem "m.txt has mode and mtime '$got', expected '$want_stat'"
want_same m.txt "$TXT"
end

# ============================================================= 3. bad input

begin "truncated archive is rejected by -d (lengths 0..20, 40, half, -17, -1)"
for len in $(seq 0 20) 40 $((GOOD_SIZE / 2)) $((GOOD_SIZE - 17)) $((GOOD_SIZE - 1)); do
  newdir
  CTX="length $len"
  head -c "$len" "$GOOD" >t.sby
  bad t.sby "$SIBYL" -d t.sby
done
end

begin "truncated archive (half) is rejected by -t, -l and -d -c"
newdir
head -c $((GOOD_SIZE / 2)) "$GOOD" >t.sby
CTX=-t
bad t.sby "$SIBYL" -t t.sby
CTX=-l
bad t.sby "$SIBYL" -l t.sby
CTX="-d -c"
before=$(snap)
TO=$TMP/dc.out run "$SIBYL" -d -c t.sby
want_rc 1
want_error t.sby
want_unchanged "$before"
end

for spec in "frame header:8" "block header:20" "payload:$((GOOD_SIZE / 2))" \
  "block index:$((GOOD_SIZE - 30))" "footer size field:$((GOOD_SIZE - 16))" "footer magic:$((GOOD_SIZE - 1))"; do
  where=${spec%:*}
  off=${spec##*:}
  begin "archive with a flipped bit in the $where (offset $off) is rejected by -d and -t"
  newdir
  cp "$GOOD" x.sby
  flip x.sby "$off"
  ! cmp -s x.sby "$GOOD" || problem "test bug: flipping the byte changed nothing"
  bad x.sby "$SIBYL" -d x.sby
  CTX=-t
  bad x.sby "$SIBYL" -t x.sby
  end
done

begin "garbage named x.sby is rejected by -d, -t and -l"
newdir
cp "$GARBAGE" x.sby
CTX=-d
bad x.sby "$SIBYL" -d x.sby
CTX=-t
bad x.sby "$SIBYL" -t x.sby
CTX=-l
bad x.sby "$SIBYL" -l x.sby
end

begin "empty file named e.sby is rejected by -d, -t and -l"
newdir
: >e.sby
CTX=-d
bad e.sby "$SIBYL" -d e.sby
CTX=-t
bad e.sby "$SIBYL" -t e.sby
CTX=-l
bad e.sby "$SIBYL" -l e.sby
end

begin "missing input file"
newdir
CTX="compress"
bad nofile "$SIBYL" -1 nofile
CTX=-d
bad nofile.sby "$SIBYL" -d nofile.sby
end

begin "a directory as input"
newdir
mkdir dd dd.sby
CTX="compress"
bad dd "$SIBYL" -1 dd
CTX=-d
bad dd.sby "$SIBYL" -d dd.sby
end

begin "one bad input among several: the others are done, exit 1, one error line"
newdir
cp "$TXT" a.txt
cp "$BIN" b.bin
run "$SIBYL" -1 a.txt nofile b.bin
want_rc 1
want_no_stdout
want_error nofile
want_files a.txt a.txt.sby b.bin b.bin.sby
end

# Permission checks: as root they need an unprivileged user (setpriv).
AS=()
PERM=yes
if [ "$(id -u)" -eq 0 ]; then
  if command -v setpriv >/dev/null 2>&1 &&
    setpriv --reuid=65534 --regid=65534 --clear-groups -- "$SIBYL" --version >/dev/null 2>&1 </dev/null; then
    AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    chmod 711 "$TMP"  # let uid 65534 reach the case directories
  else
    PERM="running as root without a usable setpriv"
  fi
fi
if [ "$PERM" = yes ]; then
  begin "unreadable input (chmod 000) is rejected${AS:+ (run as uid 65534)}"
  newdir
  chmod 777 .
  cp "$TXT" f.txt
  chmod 000 f.txt
  bad f.txt "${AS[@]}" "$SIBYL" -1 f.txt
  want_error f.txt "Permission denied"
  chmod 755 .
  end

  begin "unwritable output directory is rejected${AS:+ (run as uid 65534)}"
  newdir
  cp "$TXT" f.txt
  chmod 555 .
  bad f.txt.sby "${AS[@]}" "$SIBYL" -1 f.txt
  want_error f.txt.sby "Permission denied"
  chmod 755 .
  end
else
  skip "unreadable input (chmod 000) is rejected" "$PERM"
  skip "unwritable output directory is rejected" "$PERM"
fi

begin "existing output is kept without -f (compress, --rm, -o, -d)"
newdir
cp "$TXT" f.txt
echo old >f.txt.sby
echo old >out
cp "$GOOD" v.sby
echo old >v
CTX="compress"
bad f.txt.sby "$SIBYL" -1 f.txt
CTX=--rm
bad f.txt.sby "$SIBYL" -1 --rm f.txt
CTX=-o
bad out "$SIBYL" -1 -o out f.txt
CTX=-d
bad v "$SIBYL" -d v.sby
end

begin "-f overwrites existing output (compress and -d)"
CTX="compress"
run "$SIBYL" -1 -f f.txt
want_rc 0
want_quiet
TO=$TMP/f.out run "$SIBYL" -d -c f.txt.sby
want_rc 0
want_same "$TMP/f.out" "$TXT"
CTX=-d
run "$SIBYL" -d -f v.sby
want_rc 0
want_quiet
want_same v "$TXT"
CTX=
want_files f.txt f.txt.sby out v v.sby
end

begin "an output path that is a symlink is not followed (refused; -f replaces the link, not its target)"
newdir
cp "$TXT" f.txt
echo precious >target
ln -s target f.txt.sby
bad f.txt.sby "$SIBYL" -1 f.txt
run "$SIBYL" -1 -f -k f.txt
want_rc 0
want_quiet
[ -L f.txt.sby ] && problem "f.txt.sby is still a symlink"
[ "$(cat target)" = precious ] || problem "the symlink's target was written"
TO=$TMP/f.out run "$SIBYL" -d -c f.txt.sby
want_same "$TMP/f.out" "$TXT"
want_files f.txt f.txt.sby target
end

begin "a symlink as input is read; --rm removes the link, never its target"
newdir
cp "$TXT" real.txt
ln -s real.txt link.txt
run "$SIBYL" -1 --rm link.txt
want_rc 0
want_quiet
want_files link.txt.sby real.txt
want_same real.txt "$TXT"
TO=$TMP/l.out run "$SIBYL" -d -c link.txt.sby
want_same "$TMP/l.out" "$TXT"
end

begin "a read-only existing output is kept without -f and replaced with -f"
newdir
cp "$TXT" f.txt
echo old >f.txt.sby
chmod 444 f.txt.sby
bad f.txt.sby "$SIBYL" -1 f.txt
run "$SIBYL" -1 -f f.txt
want_rc 0
want_quiet
TO=$TMP/r.out run "$SIBYL" -d -c f.txt.sby
want_same "$TMP/r.out" "$TXT"
end

begin "special files as input: a FIFO is refused without -c and read with -c"
newdir
mkfifo pipe
bad pipe "$SIBYL" -1 pipe
( cat "$TXT" >pipe & )
TO=$TMP/p.sby run "$SIBYL" -1 -c pipe
want_rc 0
TO=$TMP/p.out run "$SIBYL" -d -c "$TMP/p.sby"
want_same "$TMP/p.out" "$TXT"
want_files pipe
end

begin "a file that grows while it is read: consistent archive, warning, input kept even with --rm"
newdir
python3 -c "import os,sys; sys.stdout.buffer.write(os.urandom(3<<20))" >grow.bin
cp grow.bin "$TMP/grow.orig"
# Appends while sibyl works (a few seconds on 3 MiB of noise at -6).
( sleep 0.2; echo tail >>grow.bin ) &
run "$SIBYL" -6 --rm grow.bin
wait
want_rc 0
grep -q "changed while" "$ERR" || problem "no warning about the change on stderr: $(shown "$ERR")"
[ -f grow.bin ] || problem "the changed input was removed by --rm"
TO=$TMP/g.out run "$SIBYL" -d -c grow.bin.sby
want_rc 0
# The archive holds the bytes read: the original, or the original plus the tail.
if ! cmp -s "$TMP/g.out" "$TMP/grow.orig" && ! cmp -s "$TMP/g.out" grow.bin; then
  problem "the archive holds neither the old nor the new content"
fi
end

begin "-d of a file without the .sby suffix is refused"
newdir
cp "$GOOD" archive.bin
bad archive.bin "$SIBYL" -d archive.bin
end

begin "compressing a file that already has the .sby suffix is refused"
newdir
cp "$GOOD" a.sby
bad a.sby "$SIBYL" -1 a.sby
end

begin "unknown option is rejected with one line, nothing done"
newdir
cp "$TXT" f.txt
CTX=--bogus
bad_usage --bogus "$SIBYL" --bogus f.txt
CTX=-Q
bad_usage -Q "$SIBYL" -1Q f.txt
end

begin "-o with two inputs is rejected with one line, nothing done"
newdir
cp "$TXT" a.txt
cp "$BIN" b.bin
bad_usage -o "$SIBYL" -1 -o out a.txt b.bin
end

if [ -c /dev/full ] && [ -w /dev/full ]; then
  begin "compressing to a full disk (-c > /dev/full) fails with one line"
  newdir
  cp "$TXT" f.txt
  before=$(snap)
  TO=/dev/full run "$SIBYL" -1 -c f.txt
  want_rc 1
  want_error "(stdout)"
  want_unchanged "$before"
  CTX="stdin"
  IN=f.txt TO=/dev/full run "$SIBYL" -1
  want_rc 1
  want_error "(stdout)"
  want_unchanged "$before"
  end

  begin "decompressing to a full disk (-d -c > /dev/full) fails with one line"
  newdir
  cp "$GOOD" v.sby
  before=$(snap)
  TO=/dev/full run "$SIBYL" -d -c v.sby
  want_rc 1
  want_error "(stdout)"
  want_unchanged "$before"
  end
else
  skip "compressing to a full disk (-c > /dev/full) fails with one line" "no writable /dev/full"
  skip "decompressing to a full disk (-d -c > /dev/full) fails with one line" "no writable /dev/full"
fi

# ============================================================= 4. terminal

# tty_run SHELL-COMMAND: runs it with stdin and stdout on a pseudo-terminal;
# what the terminal showed (without carriage returns) goes to $ERR.
tty_run() {
  timeout "$LIMIT" script -qec "$1" /dev/null </dev/null >"$TMP/tty" 2>"$TMP/tty.err"
  RC=$?
  tr -d '\r' <"$TMP/tty" >"$ERR"
  : >"$OUT"
  [ ! -s "$TMP/tty.err" ] || problem "script(1) said: $(shown "$TMP/tty.err")"
}
if command -v script >/dev/null 2>&1 && [[ $(script --version 2>&1) == *util-linux* ]] &&
  timeout 10 script -qec true /dev/null </dev/null >/dev/null 2>&1; then
  begin "refuses to write compressed data to a terminal (-c and stdin)"
  newdir
  cp "$TXT" f.txt
  before=$(snap)
  q=$(printf '%q' "$SIBYL")
  CTX=-c
  tty_run "cd $(printf '%q' "$PWD") && exec $q -1 -c f.txt"
  want_rc 1
  want_error f.txt terminal
  want_unchanged "$before"
  CTX=stdin
  tty_run "cd $(printf '%q' "$PWD") && exec $q -1 < f.txt"
  want_rc 1
  want_error "(stdin)" terminal
  want_unchanged "$before"
  end
else
  skip "refuses to write compressed data to a terminal" "no working util-linux script(1)"
fi

# ============================================================= 5. signals

# A big incompressible input keeps sibyl -1 busy for seconds (the fast CM
# codec does well under 10 MB/s); only its checksum matters.
head -c $((8 << 20)) /dev/urandom >"$SRC/big.bin"
for sig in TERM INT HUP; do
  begin "SIG$sig during compression removes the partial output"
  newdir
  cp "$SRC/big.bin" big.bin
  before=$(snap)
  # Job control: the background job gets its own process group and default
  # signal dispositions (without it bash starts it with SIGINT ignored).
  set -m
  "$SIBYL" -1 big.bin </dev/null >"$OUT" 2>"$ERR" &
  BGPID=$!
  set +m
  for ((i = 0; i < 50; i++)); do
    compgen -G '.big.bin.sby.??????' >/dev/null && break
    sleep 0.1
  done
  sleep 0.5
  compgen -G '.big.bin.sby.??????' >/dev/null || problem "no temporary output .big.bin.sby.XXXXXX while compressing"
  kill -0 "$BGPID" 2>/dev/null || problem "sibyl ended before the signal was sent"
  kill -s "$sig" "$BGPID" 2>/dev/null
  { wait "$BGPID"; } 2>/dev/null
  RC=$?
  BGPID=
  case $sig in TERM) want_rc 143 ;; INT) want_rc 130 ;; HUP) want_rc 129 ;; esac
  want_unchanged "$before"
  end
done

begin "an ignored SIGHUP (nohup) stays ignored and the job completes"
newdir
head -c $((2 << 20)) "$SRC/big.bin" >mid.bin
set -m
( trap '' HUP; exec "$SIBYL" -1 mid.bin </dev/null >"$OUT" 2>"$ERR" ) &
BGPID=$!
set +m
sleep 0.3
kill -s HUP "$BGPID" 2>/dev/null
{ wait "$BGPID"; } 2>/dev/null
RC=$?
BGPID=
want_rc 0
[ -f mid.bin.sby ] || problem "mid.bin.sby was not written"
"$SIBYL" -d -c mid.bin.sby 2>/dev/null | cmp -s - mid.bin || problem "mid.bin.sby does not restore mid.bin"
end

# ============================================================= 5b. integration: tar, -r, -b, --json

newdir
if ! command -v tar >/dev/null; then
  skip "tar -I sibyl creates and extracts an archive of a tree" "no tar"
else
  begin "tar -I sibyl creates and extracts an archive of a tree"
  mkdir -p tree/sub
  cp "$TXT" tree/a.txt
  cp "$BIN" tree/sub/b.bin
  printf 'x' >tree/sub/one
  # tar runs the program with no argument to compress and -d to decompress.
  TAR_SIBYL=$TMP/sibyl-for-tar
  ln -sf "$SIBYL" "$TAR_SIBYL"
  run tar -I "$TAR_SIBYL -1" -cf t.tar.sby tree
  want_rc 0
  want_no_stderr
  [ -s t.tar.sby ] && [ "$(head -c 4 t.tar.sby | od -An -tx1 | tr -d ' ')" = 8e534259 ] || problem "t.tar.sby is not a sibyl archive"
  mkdir out
  run tar -I "$TAR_SIBYL" -xf t.tar.sby -C out
  want_rc 0
  want_no_stderr
  want_same out/tree/a.txt "$TXT"
  want_same out/tree/sub/b.bin "$BIN"
  [ "$(cat out/tree/sub/one 2>/dev/null)" = x ] || problem "out/tree/sub/one is wrong"
  run "$SIBYL" -t t.tar.sby
  want_rc 0
  want_quiet
  end
fi

newdir
begin "-r compresses every regular file of a tree, skips *.sby and symlinks; -d -r restores them"
mkdir -p d/sub/deeper
cp "$TXT" d/a.txt
cp "$BIN" d/sub/b.bin
cp "$TXT" d/sub/deeper/c.txt
cp "$GOOD" d/already.sby
ln -s "$TXT" d/link.txt
run "$SIBYL" -1 -r d
want_rc 0
want_quiet
for f in d/a.txt d/sub/b.bin d/sub/deeper/c.txt; do [ -s "$f.sby" ] || problem "$f.sby missing"; done
[ ! -e d/already.sby.sby ] || problem "an archive was compressed again"
[ ! -e d/link.txt.sby ] || problem "a symlink was followed"
rm d/a.txt d/sub/b.bin d/sub/deeper/c.txt
run "$SIBYL" -d -r d
want_rc 0
want_quiet
want_same d/a.txt "$TXT"
want_same d/sub/b.bin "$BIN"
want_same d/sub/deeper/c.txt "$TXT"
want_same d/already "$TXT"
end

newdir
begin "-r -c writes every file of a tree to stdout; a directory without -r is refused"
mkdir -p d/s
cp "$TXT" d/s/x.txt
run "$SIBYL" -1 -r -c d
want_rc 0
want_no_stderr
"$SIBYL" -d -c <"$OUT" 2>/dev/null | cmp -s - "$TXT" || problem "stdout does not decompress to the file"
bad d "$SIBYL" -1 d
end

newdir
cp "$TXT" f.txt
begin "-b benchmarks a level range in memory and checks the round trip"
before=$(snap)
run "$SIBYL" -b -1 -e 2 f.txt
want_rc 0
want_no_stderr
want_unchanged "$before"
grep -q '^f.txt: 150' "$OUT" || problem "no file line: $(shown "$OUT")"
for l in 1 2; do
  grep -Eq "^ +$l +[0-9]+ +0\.[0-9]+ +[0-9.]+ MB/s +[0-9.]+ MB/s +[0-9]+ MiB$" "$OUT" || problem "no row for level $l: $(shown "$OUT")"
done
[ "$(grep -c 'MB/s' "$OUT")" = 2 ] || problem "expected 2 level rows: $(shown "$OUT")"
bad missing "$SIBYL" -b missing
bad_usage "invalid level" "$SIBYL" -b -e 12 f.txt
end

newdir
begin "-l --json is valid JSON with the index; -l -v counts blocks by codec"
cp "$GOOD" a.sby
cp "$GOOD" b.sby
run "$SIBYL" -l --json a.sby b.sby
want_rc 0
want_no_stderr
python3 - "$OUT" "$GOOD_SIZE" "$(stat -c %s "$TXT")" <<'PY' || problem "JSON check failed: $(shown "$OUT")"
import json, sys
doc = json.load(open(sys.argv[1]))
files = doc["files"]
assert [f["name"] for f in files] == ["a.sby", "b.sby"], files
for f in files:
    assert f["compressed_size"] == int(sys.argv[2])
    assert f["content_size"] == int(sys.argv[3])
    assert sum(f["blocks_by_codec"].values()) == sum(len(fr["blocks"]) for fr in f["frames"])
    fr = f["frames"][0]
    assert fr["level"] == 1 and len(fr["content_xxh64"]) == 16
    assert sum(b["original_size"] for b in fr["blocks"]) == fr["content_size"]
PY
run "$SIBYL" -l -v a.sby
want_rc 0
grep -q '^  blocks by codec: fast-cm 1$' "$OUT" || problem "no per-codec block count: $(shown "$OUT")"
end

# ============================================================= 5b. tensors

newdir
python3 - <<'PY' || problem "cannot generate tensor inputs"
import random, struct
random.seed(5)
rows, cols = 200, 50
scale = [0.01 * (1 + 8 * random.random()) for _ in range(cols)]
vals = [random.gauss(0, 1) * scale[i % cols] for i in range(rows * cols)]
raw = struct.pack("<%df" % len(vals), *vals)
h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open("w.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + raw)
open("w.raw", "wb").write(raw)
# A KV cache [layers 4, heads 2, tokens 64, channels 16], layer scales 1..1000.
kv = []
for l in range(4):
    for h in range(2):
        v = [random.gauss(0, 1) for _ in range(16)]
        for t in range(64):
            for c in range(16):
                v[c] += 0.05 * random.gauss(0, 1)
                kv.append(10 ** l * v[c])
open("kv.raw", "wb").write(struct.pack("<%df" % len(kv), *kv))
PY
begin "an NPY file is found from its content and coded by the tensor codec"
run "$SIBYL" -k w.npy
want_rc 0
want_quiet
want_files kv.raw w.npy w.npy.sby w.raw
run "$SIBYL" -l -v w.npy.sby
want_rc 0
grep -q '^  blocks by codec: cm 1, tensor 1$' "$OUT" || problem "header and numbers not in their own blocks: $(shown "$OUT")"
run "$SIBYL" -d -c w.npy.sby
want_rc 0
cmp -s "$OUT" w.npy || problem "round trip differs"
IN=w.npy run "$SIBYL" -c --type bytes
want_rc 0
[ "$(wc -c <"$OUT")" -gt "$(wc -c <w.npy.sby)" ] || problem "--type bytes is not larger than the tensor archive"
end

begin "a raw array on stdin with --dtype and --shape"
IN=w.raw run "$SIBYL" -c --dtype f32 --shape 200,50
want_rc 0
want_no_stderr
cp "$OUT" raw.sby
IN=raw.sby run "$SIBYL" -d -c
want_rc 0
cmp -s "$OUT" w.raw || problem "round trip differs"
IN=w.raw run "$SIBYL" -c
[ "$(wc -c <"$OUT")" -gt "$(wc -c <raw.sby)" ] || problem "without --dtype the raw array is not larger"
run "$SIBYL" -l -v raw.sby
grep -q '^  blocks by codec: tensor 1$' "$OUT" || problem "raw array not coded as numbers: $(shown "$OUT")"
rm -f raw.sby
end

begin "--error rel:1e-3 is lossy within the bound, and only for the numbers"
IN=w.npy run "$SIBYL" -c --error rel:1e-3
want_rc 0
want_no_stderr
cp "$OUT" lossy.sby
[ "$(wc -c <lossy.sby)" -lt "$(wc -c <w.npy.sby)" ] || problem "the lossy archive is not smaller than the lossless one"
run "$SIBYL" -t lossy.sby
want_rc 0
IN=lossy.sby run "$SIBYL" -d -c
want_rc 0
python3 - w.npy "$OUT" <<'PY' || problem "decoded values are not within the bound"
import struct, sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(a) == len(b) and a[:128] == b[:128], "header or size changed"
x = struct.unpack("<%df" % ((len(a) - 128) // 4), a[128:])
y = struct.unpack("<%df" % ((len(b) - 128) // 4), b[128:])
e = 1e-3 * max(abs(v) for v in x)
assert x != y, "nothing was approximated"
assert all(abs(p - q) <= e for p, q in zip(x, y)), "an element is out of bounds"
PY
run "$SIBYL" -l -v lossy.sby
grep -q 'tensor-lossy 1' "$OUT" || problem "listing does not show the lossy codec: $(shown "$OUT")"
rm -f lossy.sby
end

begin "--kv: a KV cache gets a step per layer"
IN=kv.raw run "$SIBYL" -c --dtype f32 --shape 4,2,64,16 --kv --error rel:1e-3
want_rc 0
want_no_stderr
cp "$OUT" kv.sby
IN=kv.sby run "$SIBYL" -d -c
want_rc 0
cp "$OUT" kv.back
IN=kv.raw run "$SIBYL" -c --dtype f32 --shape 4,2,64,16 --error rel:1e-3
want_rc 0
cp "$OUT" plain.sby
IN=plain.sby run "$SIBYL" -d -c
want_rc 0
python3 - kv.raw kv.back "$OUT" <<'PY' || problem "layers are not within their own bounds with --kv (or are without it)"
import struct, sys
n = 4 * 2 * 64 * 16
x, y, z = (struct.unpack("<%df" % n, open(f, "rb").read()) for f in sys.argv[1:4])
per = n // 4
for l in range(4):
    part = slice(l * per, (l + 1) * per)
    e = 1e-3 * max(abs(v) for v in x[part])
    assert all(abs(p - q) <= e for p, q in zip(x[part], y[part])), "layer %d out of its bound" % l
# Without --kv the bound is the whole tensor's: layer 0 is far coarser.
e0 = 1e-3 * max(abs(v) for v in x[:per])
assert any(abs(p - q) > e0 for p, q in zip(x[:per], z[:per])), "without --kv the first layer kept its own step"
PY
rm -f kv.sby kv.back plain.sby
end

begin "--vq: vector quantisation reports its error, and the archive decodes to it"
IN=w.npy run "$SIBYL" -c --vq 5:2:64
want_rc 0
grep -q '^(stdin): 10000 values approximated: max error [0-9.e+-]*, rms error [0-9.e+-]* (values rms [0-9.e+-]*, SNR [0-9.]* dB)$' "$ERR" ||
  problem "no error report: $(shown "$ERR")"
cp "$OUT" vq.sby
cp "$ERR" vq.err
[ "$(wc -c <vq.sby)" -lt "$(wc -c <w.npy.sby)" ] || problem "the VQ archive is not smaller than the lossless one"
IN=vq.sby run "$SIBYL" -d -c
want_rc 0
python3 - w.npy "$OUT" vq.err <<'PY' || problem "decoded values do not match the reported error"
import math, re, struct, sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(a) == len(b) and a[:128] == b[:128], "header or size changed"
x = struct.unpack("<%df" % ((len(a) - 128) // 4), a[128:])
y = struct.unpack("<%df" % ((len(b) - 128) // 4), b[128:])
rep = open(sys.argv[3]).read()
mx, rms = (float(v) for v in re.search(r"max error ([^,]+), rms error ([^ ]+) ", rep).groups())
err = [abs(p - q) for p, q in zip(x, y)]
assert x != y, "nothing was approximated"
assert abs(max(err) - mx) <= 1e-5 * mx, (max(err), mx)
assert abs(math.sqrt(sum(e * e for e in err) / len(err)) - rms) <= 1e-5 * rms
PY
run "$SIBYL" -q -k -f --vq 5:2:64 w.npy
want_rc 0
want_quiet
rm -f vq.sby vq.err w.npy.sby
run "$SIBYL" -k w.npy
end

begin "wrong tensor options are usage errors that leave nothing behind"
for args in "--shape 3" "--dtype f33" "--type image --dtype f32" "--type bytes --dtype f32" "--dtype f32 --shape 3,0" \
  "--error 1e-3" "--error rel:0" "--error abs:-1" "--error rel:x" "--vq 8" "--vq 0:1" "--vq 8:5" "--vq 8:1:1" \
  "--vq 64:4:1024" "--vq 8:2:x" "--vq 8:2 --error rel:1e-3"; do
  CTX=$args
  # shellcheck disable=SC2086
  run "$SIBYL" $args w.raw
  want_rc 1
  want_no_stdout
  [ "$(wc -l <"$ERR")" -eq 1 ] || problem "expected one line on stderr: $(shown "$ERR")"
done
want_files kv.raw w.npy w.npy.sby w.raw
end

begin "a WAV file on stdin goes to the audio codec; raw PCM with --sample"
python3 -c '
import math, struct, wave
w = wave.open("t.wav", "wb"); w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
w.writeframes(b"".join(struct.pack("<hh", int(9000 * math.sin(i * 0.03)) + (i * 7919) % 61 - 30,
                                   int(7000 * math.sin(i * 0.03 + 0.4)) + (i * 104729) % 53 - 26) for i in range(40000)))
w.close()
with open("t.wav", "rb") as f: d = f.read()
open("t.s16", "wb").write(d[44:] + b"\x01")  # the samples and one byte of a partial frame
'
IN=t.wav run "$SIBYL" -c
want_rc 0
want_no_stderr
cp "$OUT" t.sby
IN=t.sby run "$SIBYL" -d -c
want_rc 0
cmp -s "$OUT" t.wav || problem "WAV round trip differs"
run "$SIBYL" -l -v t.sby
grep -q 'audio' "$OUT" || problem "WAV not coded by the audio codec: $(shown "$OUT")"
IN=t.wav run "$SIBYL" -c --type bytes
[ "$(wc -c <"$OUT")" -gt "$(wc -c <t.sby)" ] || problem "--type bytes is not larger than the audio archive"
IN=t.s16 run "$SIBYL" -c --sample s16le --channels 2 --rate 44100
want_rc 0
want_no_stderr
cp "$OUT" t.sby
IN=t.sby run "$SIBYL" -d -c
cmp -s "$OUT" t.s16 || problem "raw PCM round trip differs"
run "$SIBYL" -l -v t.sby
grep -q 'audio' "$OUT" || problem "raw PCM not coded by the audio codec: $(shown "$OUT")"
for args in "--sample s16" "--channels 2" "--rate 8000" "--sample s16le --channels 0" "--sample s16le --channels 33" \
  "--sample u8 --rate x" "--type tensor --sample s16le" "--sample f32le --dtype f32" "--type audio --dtype f32"; do
  CTX=$args
  # shellcheck disable=SC2086
  run "$SIBYL" $args t.s16
  want_rc 1
  want_no_stdout
  [ "$(wc -l <"$ERR")" -eq 1 ] || problem "expected one line on stderr: $(shown "$ERR")"
done
rm -f t.wav t.s16 t.sby
want_files kv.raw w.npy w.npy.sby w.raw
end

begin "a PPM file on stdin goes to the image codec; PAM, 16-bit PGM and raw images with --width"
python3 -c '
import struct
w, h = 61, 37
px = bytes(((x * 7 + y * 3) ^ (x * y)) & 255 for y in range(h) for x in range(w) for c in range(3))
open("t.ppm", "wb").write(b"P6\n# a comment\n%d %d\n255\n" % (w, h) + px + b"trailing")
ga = bytes((x * 4 + c * 50) & 255 for y in range(h) for x in range(w) for c in range(2))
open("t.pam", "wb").write(b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n" % (w, h) + ga)
g16 = b"".join(struct.pack(">H", (x * 1000 + y * 77) % 4096) for y in range(h) for x in range(w))
open("t.pgm", "wb").write(b"P5\n%d %d\n4095\n" % (w, h) + g16[:-3])  # the last sample cut short
open("t.rgb", "wb").write(px + b"\x05")  # a partial pixel at the end
'
for f in t.ppm t.pam t.pgm; do
  CTX=$f
  IN=$f run "$SIBYL" -c
  want_rc 0
  want_no_stderr
  cp "$OUT" t.sby
  IN=t.sby run "$SIBYL" -d -c
  want_rc 0
  cmp -s "$OUT" $f || problem "$f round trip differs"
  run "$SIBYL" -l -v t.sby
  grep -q 'image' "$OUT" || problem "$f not coded by the image codec: $(shown "$OUT")"
done
CTX=raw
IN=t.rgb run "$SIBYL" -c --type image --width 61 --channels 3
want_rc 0
want_no_stderr
cp "$OUT" t.sby
IN=t.sby run "$SIBYL" -d -c
cmp -s "$OUT" t.rgb || problem "raw image round trip differs"
run "$SIBYL" -l -v t.sby
grep -q 'image' "$OUT" || problem "raw image not coded by the image codec: $(shown "$OUT")"
IN=t.rgb run "$SIBYL" -c --width 61 --height 10 --channels 3 --depth 16
want_rc 0
cp "$OUT" t.sby
IN=t.sby run "$SIBYL" -d -c
cmp -s "$OUT" t.rgb || problem "raw 16-bit image with --height round trip differs"
for args in "--height 5" "--depth 16" "--width 0" "--width 65537" "--width 10 --channels 5" "--width 10 --depth 12" \
  "--width 10 --sample u8" "--type audio --width 10" "--width 10 --dtype u8" "--width x"; do
  CTX=$args
  # shellcheck disable=SC2086
  run "$SIBYL" $args t.rgb
  want_rc 1
  want_no_stdout
  [ "$(wc -l <"$ERR")" -eq 1 ] || problem "expected one line on stderr: $(shown "$ERR")"
done
rm -f t.ppm t.pam t.pgm t.rgb t.sby
want_files kv.raw w.npy w.npy.sby w.raw
end

# ============================================================= 6. help, version

newdir
begin "sibyl train and --prior: a collection coded from a learned prior, any record decoded alone"
newdir
# 8x8 records with 17 levels (0..16): a bright blob on a dark field, from a
# fixed LCG. Training set: NPY uint8 [400, 8, 8]; test set: IDX [60, 8, 8]
# plus trailing bytes, and a directory of PGMs.
python3 - <<'EOF'
import struct
s = 12345
def rnd():
    global s
    s = (s * 1103515245 + 12345) & 0x7fffffff
    return s >> 8
def image():
    cx, cy, r = rnd() % 8, rnd() % 8, 1 + rnd() % 3
    out = bytearray()
    for y in range(8):
        for x in range(8):
            d = (x - cx) ** 2 + (y - cy) ** 2
            v = max(0, 16 - 3 * d // r) if d <= 3 * r else rnd() % 2
            out.append(min(16, v))
    return bytes(out)
train = b''.join(image() for _ in range(400))
hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (400, 8, 8), }"
hdr += ' ' * (64 - 10 - len(hdr) - 1) + '\n'
open('train.npy', 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + train)
test = [image() for _ in range(60)]
open('test.idx', 'wb').write(struct.pack('>IIII', 0x803, 60, 8, 8) + b''.join(test) + b'trailer')
import os
os.mkdir('pgms')
for i in range(5):
    open('pgms/%02d.pgm' % i, 'wb').write(b'P5\n8 8\n16\n' + test[i])
open('rec7', 'wb').write(test[7])
EOF
run "$SIBYL" train --type pc --latent 6 --epochs 3 -T 1 -q -o p1 train.npy
want_rc 0
want_quiet
run "$SIBYL" train --type pc --latent 6 --epochs 3 -T 2 -q -o p2 train.npy
want_rc 0
cmp -s p1 p2 || problem "the prior differs between -T 1 and -T 2"
run "$SIBYL" train --type pc --latent 6 --epochs 3 -q -o p3 pgms
want_rc 0
cmp -s p1 p3 && problem "a prior trained on other data is identical"
run "$SIBYL" --prior p1 -k test.idx
want_rc 0
want_quiet
run "$SIBYL" -lv test.idx.sby
[[ $(<"$OUT") == *"pc "* ]] || problem "no pc block in the listing: $(shown "$OUT")"
[ "$(wc -c <test.idx.sby)" -lt $((60 * 64 / 2)) ] || problem "records not compressed ($(wc -c <test.idx.sby) bytes)"
run "$SIBYL" -d --prior p1 -c test.idx.sby
want_rc 0
want_same "$OUT" test.idx
run "$SIBYL" -d --prior p1 --record 7 -c test.idx.sby
want_rc 0
want_same "$OUT" rec7
# --no-mixing: the circuit alone (prior file version 1), larger archives.
run "$SIBYL" train --type pc --latent 6 --epochs 3 -T 1 -q --no-mixing -o p0 train.npy
want_rc 0
[ "$(head -c 9 p0 | tail -c 1 | od -An -tu1 | tr -d ' ')" = 1 ] || problem "--no-mixing did not write a version-1 prior"
[ "$(head -c 9 p1 | tail -c 1 | od -An -tu1 | tr -d ' ')" = 2 ] || problem "the prior has no mixing model"
run "$SIBYL" --prior p0 -c test.idx
want_rc 0
cp "$OUT" plain.sby
[ "$(wc -c <test.idx.sby)" -lt "$(wc -c <plain.sby)" ] || problem "the mixing model does not pay ($(wc -c <test.idx.sby) vs $(wc -c <plain.sby) bytes)"
run "$SIBYL" -d --prior p0 --record 7 -c plain.sby
want_rc 0
want_same "$OUT" rec7
# The collection regime (--adapt): smaller than the circuit alone, same
# bytes back, any record decodable (the records before it in its block are
# decoded too).
run "$SIBYL" --prior p0 --adapt -c test.idx
want_rc 0
[ "$(wc -c <"$OUT")" -lt "$(wc -c <plain.sby)" ] || problem "--adapt is not smaller ($(wc -c <"$OUT") vs $(wc -c <plain.sby) bytes)"
rm -f plain.sby
run "$SIBYL" --prior p1 --adapt -c test.idx
want_rc 0
cp "$OUT" adapt.sby
run "$SIBYL" -d --prior p1 -c adapt.sby
want_rc 0
want_same "$OUT" test.idx
run "$SIBYL" -d --prior p1 --record 7 -c adapt.sby
want_rc 0
want_same "$OUT" rec7
# Same archives for every SIMD level (the circuit's kernels differ).
if "$SIBYL" --version | grep -q 'CPU avx2'; then
  for regime in "" "--adapt"; do
    SIBYL_SIMD=sse2 "$SIBYL" --prior p1 $regime -c test.idx >simd_a.sby
    SIBYL_SIMD=avx2 "$SIBYL" --prior p1 $regime -c test.idx >simd_b.sby
    cmp -s simd_a.sby simd_b.sby || problem "SSE2 and AVX2 archives differ with the prior ($regime)"
  done
  rm -f simd_a.sby simd_b.sby
fi
rm -f adapt.sby
for args in "-d -c test.idx.sby" "-d --prior p3 -c test.idx.sby" "-t test.idx.sby"; do
  CTX=$args
  run "$SIBYL" $args
  want_rc 1
  [[ $(<"$ERR") == *prior* ]] || problem "the error does not mention the prior: $(shown "$ERR")"
done
CTX=
bad test.idx.sby "$SIBYL" -d --prior p1 --record 60 -c test.idx.sby
bad_usage "--record" "$SIBYL" -d --record 3 -c test.idx.sby
bad_usage "--type" "$SIBYL" train -o p4 train.npy
bad_usage "-o" "$SIBYL" train --type pc train.npy
bad test.idx.sby "$SIBYL" train --type pc -o p4 test.idx.sby
printf 'SIBYLPC1broken' >broken.prior
bad broken.prior "$SIBYL" --prior broken.prior -c test.idx
rm -f broken.prior
newdir
end

# ============================================================= 5x. --png-pixels

newdir
begin "--png-pixels: a PNG comes back with the same pixels and chunks; other files unchanged"
# A PNG written here (python3 zlib: filters 0-4 by row, a tEXt chunk
# before and after the pixels, two IDAT chunks), and a reader that
# unfilters IDAT to raw rows, to compare pixels without sibyl.
cat >png.py <<'PY'
import struct, sys, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
def write(path, w, h):
    raw = bytearray()
    for y in range(h):
        raw.append(y % 5)
        prev = None
        row = bytearray((x * 3 + y * 7 + c * 50 + (x * y) % 11) % 256 for x in range(w) for c in range(3))
        raw += filt(y % 5, row, last[0] if y else bytearray(len(row)), 3)
        last[0] = row
    z = zlib.compress(bytes(raw), 9)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"tEXt", b"Title\0before") + chunk(b"IDAT", z[:len(z) // 2]) + chunk(b"IDAT", z[len(z) // 2:])
    png += chunk(b"tEXt", b"Comment\0after") + chunk(b"IEND", b"")
    open(path, "wb").write(png)
last = [None]
def pred(f, a, b, c):
    if f == 0: return 0
    if f == 1: return a
    if f == 2: return b
    if f == 3: return (a + b) // 2
    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
def filt(f, row, prev, bpp):
    return bytearray((row[i] - pred(f, row[i - bpp] if i >= bpp else 0, prev[i], prev[i - bpp] if i >= bpp else 0)) % 256 for i in range(len(row)))
def read(path):
    d = open(path, "rb").read(); pos = 8; idat = b""; other = []
    while pos < len(d):
        n, = struct.unpack(">I", d[pos:pos + 4]); t = d[pos + 4:pos + 8]
        if t == b"IHDR": w, h = struct.unpack(">II", d[pos + 8:pos + 16])
        if t == b"IDAT": idat += d[pos + 8:pos + 8 + n]
        else: other.append(d[pos:pos + 12 + n])
        pos += 12 + n
    raw = zlib.decompress(idat); stride = w * 3; rows = []; prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]; line = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]; row = bytearray(stride)
        for i in range(stride):
            row[i] = (line[i] + pred(f, row[i - 3] if i >= 3 else 0, prev[i], prev[i - 3] if i >= 3 else 0)) % 256
        rows.append(bytes(row)); prev = row
    return b"".join(rows), other
if sys.argv[1] == "write": write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
else:
    a, b = read(sys.argv[2]), read(sys.argv[3])
    sys.exit(0 if a == b else 1)
PY
python3 png.py write pic.png 61 43 || problem "cannot write the test PNG"
cp pic.png orig.png
run "$SIBYL" --png-pixels pic.png
want_rc 0
want_quiet
[ -f pic.png.sby ] || problem "no pic.png.sby"
cmp -s pic.png orig.png || problem "the input PNG changed"
run "$SIBYL" -l pic.png.sby
want_rc 0
grep -q 'the pixels of a PNG' "$OUT" || problem "-l does not say the archive holds PNG pixels: $(shown "$OUT")"
run "$SIBYL" -l --json pic.png.sby
grep -q '"png_pixels": true' "$OUT" || problem "-l --json has no png_pixels: $(shown "$OUT")"
run "$SIBYL" -t pic.png.sby
want_rc 0
want_quiet
rm pic.png
run "$SIBYL" -d pic.png.sby
want_rc 0
want_quiet
[ -f pic.png ] || problem "-d wrote no pic.png"
python3 png.py same pic.png orig.png || problem "the PNG written back has other pixels or chunks"
cmp -s pic.png orig.png && problem "the PNG written back is byte-identical (new IDAT data was expected)"
# From standard input to standard output, the same.
IN=orig.png TO=piped.sby run "$SIBYL" --png-pixels -c
want_rc 0
IN=piped.sby TO=piped.png run "$SIBYL" -d -c
want_rc 0
python3 png.py same piped.png orig.png || problem "piped: other pixels"
# Not a PNG: compressed as usual, restored byte for byte, no flag.
printf 'plain text, not a PNG at all\n%.0s' {1..50} >notpng.txt
run "$SIBYL" --png-pixels -c notpng.txt
want_rc 0
cp "$OUT" notpng.sby
TO=back.txt run "$SIBYL" -d -c notpng.sby
cmp -s back.txt notpng.txt || problem "a non-PNG file did not come back exact"
run "$SIBYL" -l notpng.sby
grep -q 'pixels of a PNG' "$OUT" && problem "a non-PNG archive is marked as PNG pixels"
# A PNG cut short: said with -v, compressed as bytes, restored exactly.
head -c 300 orig.png >cut.png
run "$SIBYL" --png-pixels -v -c cut.png
want_rc 0
grep -q 'compressed as bytes' "$ERR" || problem "no word that the cut PNG went as bytes: $(shown "$ERR")"
run "$SIBYL" --png-pixels -q -c cut.png
want_rc 0
want_no_stderr
cp "$OUT" cut.sby
TO=cut.back run "$SIBYL" -d -c cut.sby
cmp -s cut.back cut.png || problem "a cut PNG did not come back byte for byte"
bad_usage "--png-pixels" "$SIBYL" -d --png-pixels pic.png.sby
bad_usage "--png-pixels" "$SIBYL" --png-pixels --width 10 -c orig.png
newdir
end

begin "--help and -h exit 0 and print Usage on stdout"
for opt in --help -h; do
  CTX=$opt
  run "$SIBYL" "$opt"
  want_rc 0
  want_no_stderr
  [[ $(<"$OUT") == *Usage* ]] || problem "no 'Usage' in: $(shown "$OUT")"
done
want_files
end

begin "--version and -V exit 0 and print a version line"
for opt in --version -V; do
  CTX=$opt
  run "$SIBYL" "$opt"
  want_rc 0
  want_no_stderr
  [[ $(head -n 1 "$OUT") == "sibyl "?* ]] || problem "first line is not 'sibyl VERSION': $(shown "$OUT")"
done
want_files
end

echo "# $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
