#!/usr/bin/env bash
# layer_bench.sh: how fast `img layer` writes layer blobs, and how much memory
# it uses, compared with baselines run in the same invocation on the same
# machine (numbers from different machines or days are not comparable).
#
# What it measures
#   For each dataset it times these commands with `/usr/bin/time -f '%e %M'`:
#     baselines   GNU tar (uncompressed)     tar -cf - DIR > out.tar
#                 tar + gzip -6              tar -cf - DIR | gzip -6 > out
#                 tar + pigz -p2             tar -cf - DIR | pigz -p2 > out
#                 tar + zstd -3              tar -cf - DIR | zstd -3 -q > out
#                 tar + zstd -3 -T2          tar -cf - DIR | zstd -3 -T2 -q > out
#                 tar + zstd -3 -T2 + 2 sha256sum
#                                            the same, with sha256sum of the tar stream
#                                            and of the compressed stream, as img
#                                            computes (diff_id and digest): tar | tee
#                                            FIFO1 | zstd -3 -T2 | tee FIFO2 > out,
#                                            one sha256sum reading each FIFO
#                 tar + pigz -p2 + 2 sha256sum   likewise with pigz -p2
#                 sha256sum out.tar          the hashing limit (every layer is hashed)
#                 (rows are named as in the first column; "+" stands for a pipe)
#     img layer   --format none
#                 --format gzip --compressor-jobs 2 --compression-level 1  (fastbuild default)
#                 --format gzip --compressor-jobs 2                        (default level)
#                 --format zstd --compressor-jobs 2
#                 --format zstd --compressor-jobs 1
#                 --format gzip --estargz --compression-level 1
#   Datasets (made once under $WORK/data and reused):
#     (a) go      a `cp -a` copy of /usr/local/go (~250 MB)
#     (b) files   100,000 small files: 1,000 dirs x 100 files, 100..4000 bytes,
#                 text-like content that compresses (deterministic, seed 42)
#     (c) random  1 GiB of /dev/urandom in one file
#
#   wall s      elapsed seconds, best (smallest) of REPEAT runs. Pipelines are
#               timed as a whole (`bash -c 'set -o pipefail; a | b > out'`).
#   MB/s        dataset size / wall s, where the dataset size is the size of the
#               plain GNU tar of it (out.tar) in MB (10^6 bytes), for every row,
#               so MB/s is comparable across rows.
#   max RSS MB  largest peak RSS of any ONE process of the command (Linux wait4
#               reports the max over the child and its waited-for descendants, so
#               for a pipeline it is its biggest process, not the sum). For img
#               runs it is the img process itself. The largest over the REPEAT
#               runs (conservative). MB = 10^6 bytes.
#   output MB   size of the blob written.
#   ratio       MB/s of the img row / MB/s of its baseline:
#               img none vs GNU tar, img gzip (jobs 2) vs pigz -p2,
#               img zstd jobs 1 vs zstd -3, img zstd jobs 2 vs zstd -3 -T2;
#               eStargz shows MB/s only.
#   ratio 2     the img row against the baseline that does the same work: the
#               2-thread compressor with both sha256 digests (img gzip jobs 2
#               vs tar + pigz -p2 + 2 sha256sum, img zstd jobs 2 vs
#               tar + zstd -3 -T2 + 2 sha256sum).
#   Target checks (informational: PASS/FAIL do not change the exit status):
#     img zstd (jobs 2)          >= 0.9 x tar|zstd -3      (every dataset)
#     img zstd (jobs 2)          >= 0.9 x tar|zstd -3 -T2  (every dataset)
#     img zstd (jobs 2)          >= 1.0 x the same with 2 sha256sum (every dataset)
#     img gzip (jobs 2, level 6) >= 0.9 x tar|pigz -p2     (every dataset)
#     img gzip (jobs 2, level 6) >= 1.0 x the same with 2 sha256sum (every dataset)
#     img gzip jobs 2 level 1    >= 1.4 x tar|pigz -p2     (every dataset)
#     img none                   >= 0.6 x GNU tar          (every dataset)
#     img eStargz                >= 30 MB/s                (dataset a)
#     img max RSS, every format  <= 64 MB                  (dataset b)
#   Every img output is verified: the metadata JSON "digest" must equal the
#   sha256sum of the blob, and "diff_id" the sha256 of the decompressed blob;
#   the zstd blobs of jobs 1 and jobs 2 must be the same bytes.
#   A mismatch, or any command failing, stops the script with exit status 1.
#
# Fairness: outputs go to $WORK/out (same disk as the datasets; removed and
# `sync`ed, untimed, before each run so earlier runs' writeback does not
# overlap). The page cache is never dropped; each dataset gets one untimed
# warm-up read first (`tar -cf - DIR | cat >/dev/null`; not `tar cf /dev/null`,
# which GNU tar short-cuts without reading file contents), so every run reads
# from a warm cache. Run it on an otherwise idle machine: the baselines and img
# compete for the same 2 CPUs.
#
# How to run
#   img_tool/bench/layer_bench.sh            full size (several minutes; ~2 GB for datasets,
#                                            up to ~2.2 GB more for outputs)
#   SMALL=1 img_tool/bench/layer_bench.sh    quick check: (a) = /usr/local/go/src/net,
#                                            (b) = 5,000 files, (c) = 64 MiB
#   Environment:
#     WORK=/tmp/img-bench   work dir: datasets (reused), outputs, binary, results
#     REPEAT=1              runs per measurement; the best wall time is reported
#     DATASETS="a b c"      which datasets to run
#     IMG=/path/to/img      use this img binary instead of building one from
#                           this checkout as the toolchain builds the tool of
#                           layer actions (CGO_ENABLED=0 go build -trimpath
#                           -ldflags "-s -w" -tags img_build_actions): the
#                           full tool's larger binary adds some 10 MB of RSS
#     IMG_COMPARE=/path/to/img
#                           also run every img row with this other binary (say,
#                           one built from an older commit), right after the same
#                           row of IMG, as "<row> [compare]"; the report says
#                           whether both wrote the same blobs. Ratios and checks
#                           are for IMG; [compare] rows show ratios too.
#     GO_SRC=/usr/local/go  source of dataset (a)
#   Needs GNU tar, gzip, zstd, pigz, /usr/bin/time (pigz and time are installed
#   with apt-get when missing), sha256sum, python3 (to make dataset b), and Go
#   (unless IMG is set). Results are also written as TSV to $WORK/results.tsv.

set -euo pipefail
export LC_ALL=C

SMALL=${SMALL:-0}
REPEAT=${REPEAT:-1}
WORK=${WORK:-/tmp/img-bench}
DATASETS=${DATASETS:-a b c}
GO_SRC=${GO_SRC:-/usr/local/go}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOL_DIR=$(cd "$SCRIPT_DIR/.." && pwd) # img_tool (go.mod)

die() { echo "layer_bench: ERROR: $*" >&2; exit 1; }
log() { echo "layer_bench: $*" >&2; }

[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive integer, got '$REPEAT'"
for d in $DATASETS; do
  [[ $d == a || $d == b || $d == c ]] || die "DATASETS: unknown dataset '$d' (want a, b, c)"
done

# ---------------------------------------------------------------- tools
ensure_packages() {
  local missing=()
  command -v pigz >/dev/null 2>&1 || missing+=(pigz)
  [[ -x /usr/bin/time ]] || missing+=(time)
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [[ $(id -u) != 0 ]]; then sudo=(sudo); fi
  log "installing ${missing[*]} with apt-get"
  "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}
ensure_packages
for t in tar gzip pigz zstd sha256sum python3 awk; do
  command -v "$t" >/dev/null 2>&1 || die "missing tool: $t"
done
tar --version 2>/dev/null | head -1 | grep -q 'GNU tar' || die "tar is not GNU tar"

mkdir -p "$WORK/data" "$WORK/out" "$WORK/bin"
WORK=$(cd "$WORK" && pwd)
OUT=$WORK/out

if [[ -z ${IMG:-} ]]; then
  GO=$(command -v go 2>/dev/null || true)
  [[ -z $GO && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
  [[ -n $GO ]] || die "no go toolchain found (set IMG to an img binary)"
  IMG=$WORK/bin/img
  log "building img from $TOOL_DIR"
  (cd "$TOOL_DIR" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -buildid=" -tags img_build_actions -o "$IMG" ./cmd/img) || die "go build failed"
fi
[[ -x $IMG ]] || die "img binary $IMG is not executable"
IMG_COMPARE=${IMG_COMPARE:-}
[[ -z $IMG_COMPARE || -x $IMG_COMPARE ]] || die "IMG_COMPARE binary $IMG_COMPARE is not executable"

# ---------------------------------------------------------------- datasets
# Each dataset is built under a temporary name and renamed when complete, so
# an interrupted run never leaves a half-made dataset that would be reused.
if [[ $SMALL == 1 ]]; then
  GO_DIR=$GO_SRC/src/net; GO_NAME=go-src-net
  NFILES=5000; RANDOM_MIB=64
else
  GO_DIR=$GO_SRC; GO_NAME=go
  NFILES=100000; RANDOM_MIB=1024
fi
[[ -d $GO_DIR ]] || die "$GO_DIR is not a directory"

make_go() { # $1 = final dir
  local tmp=$1.partial
  rm -rf "$tmp"
  log "copying $GO_DIR to $1"
  cp -a "$GO_DIR" "$tmp"
  mv "$tmp" "$1"
}

make_files() { # $1 = final dir, $2 = number of files (multiple of 100)
  local tmp=$1.partial
  rm -rf "$tmp"
  log "generating $2 small files in $1"
  python3 - "$tmp" "$2" <<'EOF'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
words = ("the of and to in is for on with as by at from that this it be are was "
         "func return if else var const type struct package import err nil string "
         "int byte error context layer image tar gzip zstd digest sha256 manifest "
         "config build bazel rule target label file path name size mode time user "
         "group data value key index blob stream writer reader buffer chunk").split()
def line():
    kind = rnd.random()
    if kind < 0.6:    # prose / code-like line
        l = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 12)))
    elif kind < 0.8:  # key = number
        l = "%s_%d = %d" % (rnd.choice(words), rnd.randint(0, 99), rnd.randint(0, 10**9))
    else:             # hex noise (hashes, ids): compresses poorly
        l = "%032x" % rnd.getrandbits(128)
    return "\t" * rnd.randint(0, 3) + l + "\n"
pool = [line().encode() for _ in range(50000)]  # a pool keeps generation fast
def text(size):
    parts, n = [], 0
    while n < size:
        l = pool[rnd.randrange(len(pool))]
        parts.append(l)
        n += len(l)
    return b"".join(parts)[:size]
ndirs = n // 100
os.mkdir(root)
for d in range(ndirs):
    dp = os.path.join(root, "d%04d" % d)
    os.mkdir(dp)
    for f in range(100):
        with open(os.path.join(dp, "f%03d.txt" % f), "wb") as fh:
            fh.write(text(rnd.randint(100, 4000)))
EOF
  mv "$tmp" "$1"
}

make_random() { # $1 = final dir, $2 = MiB
  local tmp=$1.partial
  rm -rf "$tmp"
  log "writing $2 MiB of random data to $1"
  mkdir -p "$tmp"
  head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$tmp/random.bin"
  mv "$tmp" "$1"
}

dataset_dir() { # $1 = a|b|c -> path (created if missing)
  local dir
  case $1 in
    a) dir=$WORK/data/$GO_NAME; [[ -d $dir ]] || make_go "$dir" ;;
    b) dir=$WORK/data/files-$NFILES; [[ -d $dir ]] || make_files "$dir" "$NFILES" ;;
    c) dir=$WORK/data/random-${RANDOM_MIB}M; [[ -d $dir ]] || make_random "$dir" "$RANDOM_MIB" ;;
  esac
  echo "$dir"
}

dataset_label() {
  case $1 in
    a) echo "(a) $GO_NAME: copy of $GO_DIR" ;;
    b) echo "(b) $NFILES small files" ;;
    c) echo "(c) $RANDOM_MIB MiB of random data" ;;
  esac
}

# ---------------------------------------------------------------- measuring
RESULTS=$WORK/results.tsv
printf 'dataset\ttool\twall_s\tmb_s\tmax_rss_mb\toutput_mb\n' >"$RESULTS"

declare -A WALL RSS OUTMB # key: "<dataset>|<tool>"

# measure DS TOOL OUTFILE CMD...: runs CMD REPEAT times under /usr/bin/time,
# records the best wall time and largest max RSS. OUTFILE ("-" for none) is
# removed before each run.
measure() {
  local ds=$1 tool=$2 outfile=$3; shift 3
  local tf=$OUT/time.txt best="" rss=0 i line e m
  for ((i = 1; i <= REPEAT; i++)); do
    [[ $outfile != - ]] && rm -f "$outfile"
    sync
    if ! /usr/bin/time -f '%e %M' -o "$tf" "$@"; then
      cat "$tf" >&2 || true
      die "[$ds] $tool: command failed: $*"
    fi
    line=$(tail -n 1 "$tf")
    read -r e m <<<"$line"
    [[ $e =~ ^[0-9.]+$ && $m =~ ^[0-9]+$ ]] || die "[$ds] $tool: cannot parse time output '$line'"
    if [[ -z $best ]] || awk -v a="$e" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$e; fi
    ((m > rss)) && rss=$m
  done
  WALL[$ds|$tool]=$best
  RSS[$ds|$tool]=$(awk -v k="$rss" 'BEGIN{printf "%.1f", k * 1024 / 1e6}')
  if [[ $outfile != - ]]; then
    OUTMB[$ds|$tool]=$(awk -v b="$(stat -c %s "$outfile")" 'BEGIN{printf "%.1f", b / 1e6}')
  else
    OUTMB[$ds|$tool]=-
  fi
  log "[$ds] $tool: ${best}s, max RSS ${RSS[$ds|$tool]} MB"
}

# verify_img DS TOOL BLOB META FORMAT: metadata digest == sha256(blob) and
# diff_id == sha256(decompressed blob).
verify_img() {
  local ds=$1 tool=$2 blob=$3 meta=$4 format=$5 want got diff_want diff_got
  want=$(sed -n 's/^ *"digest": *"sha256:\([0-9a-f]\{64\}\)".*/\1/p' "$meta")
  diff_want=$(sed -n 's/^ *"diff_id": *"sha256:\([0-9a-f]\{64\}\)".*/\1/p' "$meta")
  [[ -n $want && -n $diff_want ]] || die "[$ds] $tool: no digest/diff_id in metadata $meta: $(cat "$meta")"
  got=$(sha256sum "$blob" | cut -d' ' -f1)
  if [[ $got != "$want" ]]; then
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    die "[$ds] $tool: DIGEST MISMATCH: metadata says sha256:$want, sha256sum of $blob is $got"
  fi
  case $format in
    none) diff_got=$got ;;
    gzip) diff_got=$(gzip -dc "$blob" | sha256sum | cut -d' ' -f1) ;;
    zstd) diff_got=$(zstd -dcq "$blob" | sha256sum | cut -d' ' -f1) ;;
  esac
  if [[ $diff_got != "$diff_want" ]]; then
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    die "[$ds] $tool: DIFF_ID MISMATCH: metadata says sha256:$diff_want, decompressed blob hashes to $diff_got"
  fi
}

# hashed_pipeline TARCMD COMPRESSOR OUTFILE: prints a bash script that runs
# TARCMD | COMPRESSOR > OUTFILE while two sha256sum processes hash the tar
# stream and the compressed stream (read from FIFOs fed by tee), which is
# the work img does; the digests go to $OUT/sum.tar and $OUT/sum.out.
hashed_pipeline() {
  local f1=$OUT/fifo.tar f2=$OUT/fifo.out
  printf 'set -o pipefail; rm -f %q %q; mkfifo %q %q; ' "$f1" "$f2" "$f1" "$f2"
  printf 'sha256sum < %q > %q & a=$!; sha256sum < %q > %q & b=$!; ' "$f1" "$OUT/sum.tar" "$f2" "$OUT/sum.out"
  printf '%s | tee %q | %s | tee %q > %q; s=$?; wait $a && wait $b && exit $s' "$1" "$f1" "$2" "$f2" "$3"
}

# check_hashed DS TOOL OUTFILE DECOMPRESS: the digests the hashed pipeline
# printed are those of OUTFILE and of its decompressed content.
check_hashed() {
  local got want
  want=$(cut -d' ' -f1 "$OUT/sum.out"); got=$(sha256sum "$3" | cut -d' ' -f1)
  [[ $want == "$got" ]] || die "[$1] $2: sha256 of the compressed stream $want, of $3 $got"
  want=$(cut -d' ' -f1 "$OUT/sum.tar"); got=$($4 "$3" | sha256sum | cut -d' ' -f1)
  [[ $want == "$got" ]] || die "[$1] $2: sha256 of the tar stream $want, of the decompressed $3 $got"
  rm -f "$OUT/sum.tar" "$OUT/sum.out" "$OUT/fifo.tar" "$OUT/fifo.out"
}

# check_jobs_same DS TOOL BLOB: the zstd blobs of jobs 2 and jobs 1 are the
# same bytes (the output must not depend on the compressor's jobs).
declare -A ZSTD_JOBS2_SUM # dataset -> sha256 of the "img zstd jobs 2" blob
check_jobs_same() {
  local got
  case $2 in
    "$I_ZS2") ZSTD_JOBS2_SUM[$1]=$(sha256sum "$3" | cut -d' ' -f1) ;;
    "$I_ZS1")
      got=$(sha256sum "$3" | cut -d' ' -f1)
      [[ -z ${ZSTD_JOBS2_SUM[$1]:-} || $got == "${ZSTD_JOBS2_SUM[$1]}" ]] ||
        die "[$1] $2: blob sha256:$got differs from that of $I_ZS2 (sha256:${ZSTD_JOBS2_SUM[$1]}): the bytes depend on the jobs"
      ;;
  esac
}

# Row names (also the keys of WALL/RSS/OUTMB).
T_TAR="GNU tar (uncompressed)"
T_GZIP="tar + gzip -6"
T_PIGZ="tar + pigz -p2"
T_ZSTD="tar + zstd -3"
T_ZSTD2="tar + zstd -3 -T2"
T_ZSTD2H="tar + zstd -3 -T2 + 2 sha256sum"
T_PIGZH="tar + pigz -p2 + 2 sha256sum"
T_SHA="sha256sum out.tar"
I_NONE="img none"
I_GZ1="img gzip jobs 2 level 1"
I_GZ="img gzip jobs 2"
I_ZS2="img zstd jobs 2"
I_ZS1="img zstd jobs 1"
I_ESZ="img estargz level 1"
ROWS=("$T_TAR" "$T_GZIP" "$T_PIGZ" "$T_PIGZH" "$T_ZSTD" "$T_ZSTD2" "$T_ZSTD2H" "$T_SHA" "$I_NONE" "$I_GZ1" "$I_GZ" "$I_ZS2" "$I_ZS1" "$I_ESZ")
IMG_ROWS=("$I_NONE" "$I_GZ1" "$I_GZ" "$I_ZS2" "$I_ZS1" "$I_ESZ")
declare -A BASE=(
  ["$I_NONE"]=$T_TAR ["$I_GZ1"]=$T_PIGZ ["$I_GZ"]=$T_PIGZ ["$I_ZS2"]=$T_ZSTD2 ["$I_ZS1"]=$T_ZSTD
)
declare -A BASE2=(["$I_GZ"]=$T_PIGZH ["$I_ZS2"]=$T_ZSTD2H)
declare -A SIZE_MB # dataset -> plain tar size in MB
CMP=" [compare]"
if [[ -n $IMG_COMPARE ]]; then
  rows=()
  for tool in "${ROWS[@]}"; do
    rows+=("$tool")
    if [[ " ${IMG_ROWS[*]} " == *" $tool "* ]]; then
      rows+=("$tool$CMP")
      [[ -n ${BASE[$tool]:-} ]] && BASE[$tool$CMP]=${BASE[$tool]}
      [[ -n ${BASE2[$tool]:-} ]] && BASE2[$tool$CMP]=${BASE2[$tool]}
    fi
  done
  ROWS=("${rows[@]}")
fi
declare -A SAME # "<dataset>|<tool>" -> yes/no: IMG_COMPARE wrote the same blob

run_dataset() {
  local ds=$1 dir parent name q
  dir=$(dataset_dir "$ds")
  parent=$(dirname "$dir"); name=$(basename "$dir")
  log "[$ds] dataset $dir; warm-up read"
  tar -cf - -C "$parent" "$name" | cat >/dev/null

  # The same entries, named <name>/..., in the baselines and in img.
  printf '%s\0d%s\n' "$name" "$dir" >"$OUT/params.txt"
  q=$(printf '%q %q' "$parent" "$name")
  local tarcmd="tar -cf - -C $q"

  measure "$ds" "$T_TAR" "$OUT/out.tar" bash -c "set -o pipefail; $tarcmd > $OUT/out.tar"
  SIZE_MB[$ds]=$(awk -v b="$(stat -c %s "$OUT/out.tar")" 'BEGIN{printf "%.3f", b / 1e6}')
  measure "$ds" "$T_GZIP" "$OUT/out.tar.gz" bash -c "set -o pipefail; $tarcmd | gzip -6 > $OUT/out.tar.gz"
  rm -f "$OUT/out.tar.gz"
  measure "$ds" "$T_PIGZ" "$OUT/out.pigz.gz" bash -c "set -o pipefail; $tarcmd | pigz -p2 > $OUT/out.pigz.gz"
  rm -f "$OUT/out.pigz.gz"
  measure "$ds" "$T_ZSTD" "$OUT/out.tar.zst" bash -c "set -o pipefail; $tarcmd | zstd -3 -q > $OUT/out.tar.zst"
  rm -f "$OUT/out.tar.zst"
  measure "$ds" "$T_ZSTD2" "$OUT/out.tar.zst" bash -c "set -o pipefail; $tarcmd | zstd -3 -T2 -q > $OUT/out.tar.zst"
  rm -f "$OUT/out.tar.zst"
  measure "$ds" "$T_ZSTD2H" "$OUT/out.tar.zst" bash -c "$(hashed_pipeline "$tarcmd" "zstd -3 -T2 -q" "$OUT/out.tar.zst")"
  check_hashed "$ds" "$T_ZSTD2H" "$OUT/out.tar.zst" "zstd -dcq"
  rm -f "$OUT/out.tar.zst"
  measure "$ds" "$T_PIGZH" "$OUT/out.pigz.gz" bash -c "$(hashed_pipeline "$tarcmd" "pigz -p2" "$OUT/out.pigz.gz")"
  check_hashed "$ds" "$T_PIGZH" "$OUT/out.pigz.gz" "gzip -dc"
  rm -f "$OUT/out.pigz.gz"
  measure "$ds" "$T_SHA" - bash -c "sha256sum $OUT/out.tar > /dev/null"
  rm -f "$OUT/out.tar"

  local tool format blob
  local -a flags
  for tool in "${IMG_ROWS[@]}"; do
    case $tool in
      "$I_NONE") format=none; flags=(--format none) ;;
      "$I_GZ1") format=gzip; flags=(--format gzip --compressor-jobs 2 --compression-level 1) ;;
      "$I_GZ") format=gzip; flags=(--format gzip --compressor-jobs 2) ;;
      "$I_ZS2") format=zstd; flags=(--format zstd --compressor-jobs 2) ;;
      "$I_ZS1") format=zstd; flags=(--format zstd --compressor-jobs 1) ;;
      "$I_ESZ") format=gzip; flags=(--format gzip --estargz --compression-level 1) ;;
    esac
    blob=$OUT/img.blob
    measure "$ds" "$tool" "$blob" "$IMG" layer "${flags[@]}" \
      --add-from-file "$OUT/params.txt" --metadata "$OUT/img.json" "$blob"
    verify_img "$ds" "$tool" "$blob" "$OUT/img.json" "$format"
    check_jobs_same "$ds" "$tool" "$blob"
    if [[ -n $IMG_COMPARE ]]; then
      local sum
      sum=$(sha256sum "$blob" | cut -d' ' -f1)
      rm -f "$blob" "$OUT/img.json"
      measure "$ds" "$tool$CMP" "$blob" "$IMG_COMPARE" layer "${flags[@]}" \
        --add-from-file "$OUT/params.txt" --metadata "$OUT/img.json" "$blob"
      verify_img "$ds" "$tool$CMP" "$blob" "$OUT/img.json" "$format"
      SAME[$ds|$tool]=no
      [[ $(sha256sum "$blob" | cut -d' ' -f1) == "$sum" ]] && SAME[$ds|$tool]=yes
    fi
    rm -f "$blob" "$OUT/img.json"
  done
}

mbps() { # ds tool
  awk -v s="${SIZE_MB[$1]}" -v t="${WALL[$1|$2]}" 'BEGIN{ if (t > 0) printf "%.1f", s / t; else print "inf" }'
}
ratio() { # ds tool base -> MB/s ratio
  awk -v a="${WALL[$1|$3]}" -v b="${WALL[$1|$2]}" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "inf" }'
}

print_table() {
  local ds=$1 tool r
  echo
  echo "### $(dataset_label "$ds") — plain tar $(awk -v s="${SIZE_MB[$ds]}" 'BEGIN{printf "%.1f", s}') MB"
  echo
  echo "| tool | wall s | MB/s | max RSS MB | output MB | ratio vs baseline | ratio 2 (same work) |"
  echo "|---|---:|---:|---:|---:|---|---|"
  for tool in "${ROWS[@]}"; do
    r=- r2=-
    if [[ -n ${BASE[$tool]:-} ]]; then r="$(ratio "$ds" "$tool" "${BASE[$tool]}")x vs ${BASE[$tool]}"; fi
    if [[ -n ${BASE2[$tool]:-} ]]; then r2="$(ratio "$ds" "$tool" "${BASE2[$tool]}")x vs ${BASE2[$tool]}"; fi
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$tool" "${WALL[$ds|$tool]}" "$(mbps "$ds" "$tool")" \
      "${RSS[$ds|$tool]}" "${OUTMB[$ds|$tool]}" "$r" "$r2"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$tool" "${WALL[$ds|$tool]}" "$(mbps "$ds" "$tool")" \
      "${RSS[$ds|$tool]}" "${OUTMB[$ds|$tool]}" >>"$RESULTS"
  done
}

NPASS=0 NFAIL=0
check() { # description, value, op (>= or <=), limit, unit
  local ok
  ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN{ print ((op == ">=" ? v >= l : v <= l) ? "PASS" : "FAIL") }')
  if [[ $ok == PASS ]]; then NPASS=$((NPASS + 1)); else NFAIL=$((NFAIL + 1)); fi
  printf -- '- %s: %s — %s%s (target %s %s%s)\n' "$ok" "$1" "$2" "$5" "$3" "$4" "$5"
}

print_checks() {
  local ds tool
  echo
  echo "### Target checks (informational)"
  echo
  for ds in $DATASETS; do
    check "[$ds] $I_ZS2 vs $T_ZSTD" "$(ratio "$ds" "$I_ZS2" "$T_ZSTD")" ">=" 0.9 x
    check "[$ds] $I_ZS2 vs $T_ZSTD2" "$(ratio "$ds" "$I_ZS2" "$T_ZSTD2")" ">=" 0.9 x
    check "[$ds] $I_ZS2 vs $T_ZSTD2H" "$(ratio "$ds" "$I_ZS2" "$T_ZSTD2H")" ">=" 1.0 x
    check "[$ds] $I_GZ vs $T_PIGZ" "$(ratio "$ds" "$I_GZ" "$T_PIGZ")" ">=" 0.9 x
    check "[$ds] $I_GZ vs $T_PIGZH" "$(ratio "$ds" "$I_GZ" "$T_PIGZH")" ">=" 1.0 x
    check "[$ds] $I_GZ1 vs $T_PIGZ" "$(ratio "$ds" "$I_GZ1" "$T_PIGZ")" ">=" 1.4 x
    check "[$ds] $I_NONE vs $T_TAR" "$(ratio "$ds" "$I_NONE" "$T_TAR")" ">=" 0.6 x
    if [[ $ds == a ]]; then
      check "[a] $I_ESZ throughput" "$(mbps a "$I_ESZ")" ">=" 30 " MB/s"
    fi
    if [[ $ds == b ]]; then
      for tool in "${IMG_ROWS[@]}"; do
        check "[b] $tool max RSS" "${RSS[b|$tool]}" "<=" 64 " MB"
      done
    fi
  done
  if [[ -n $IMG_COMPARE ]]; then
    echo
    for ds in $DATASETS; do
      for tool in "${IMG_ROWS[@]}"; do
        printf -- '- [%s] %s: IMG_COMPARE wrote %s blob\n' "$ds" "$tool" \
          "$([[ ${SAME[$ds|$tool]} == yes ]] && echo the same || echo a DIFFERENT)"
      done
    done
  fi
  echo
  echo "$NPASS passed, $NFAIL failed (informational; exit status is 0)"
}

# ---------------------------------------------------------------- main
log "work dir $WORK, SMALL=$SMALL, REPEAT=$REPEAT, DATASETS='$DATASETS', img=$IMG"
for ds in $DATASETS; do run_dataset "$ds"; done

echo "## img layer benchmark"
echo
echo "- host: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/{printf "%.1f GB RAM", $2 * 1024 / 1e9}' /proc/meminfo)"
echo "- img: $IMG ($(git -C "$TOOL_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$TOOL_DIR" diff --quiet HEAD -- . 2>/dev/null || echo ', dirty'))"
[[ -z $IMG_COMPARE ]] || echo "- [compare] rows: $IMG_COMPARE"
echo "- $(tar --version | head -1); $(gzip --version | head -1); pigz $(pigz --version 2>&1 | awk '{print $2}'); $(zstd --version | sed 's/^\*\*\* //; s/, by.*//')"
echo "- SMALL=$SMALL, REPEAT=$REPEAT (best wall time; largest max RSS); MB = 10^6 bytes; MB/s = plain tar size / wall s"
for ds in $DATASETS; do print_table "$ds"; done
print_checks
echo
echo "(results also in $RESULTS)"
exit 0
