#!/usr/bin/env bash
# run_flamegraph.sh - the flame graph of a jitperf-run run: a self-contained page that renders in a real headless browser (Debian's chromium) with the demo's JIT frames named and coloured as JIT code, plus folded stacks.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build
browser=$(command -v chromium || command -v chromium-browser) ||
	skip "chromium is not installed (scripts/setup-deps installs it)"
[ -f /usr/share/d3-flame-graph/d3-flamegraph-base.html ] || [ -n "${JITPERF_FLAMEGRAPH_TEMPLATE:-}" ] ||
	skip "the d3-flame-graph template is not installed (scripts/setup-deps installs it)"
cd "$T" || exit 1

JIT_SECONDS=0.6 run_jr fg 0 --lib "$LIB" -o "$T/fg" -- "$DEMO"
page=$T/fg/flamegraph.html
sum=$T/fg/summary.txt
check "flamegraph.html written" test -s "$page"
check "the summary lists it" grep -q 'flamegraph.html' "$sum"
top=$(sed -n 's/^ *[0-9.]*%  \(.*[^ ]\) *\[JIT\]$/\1/p' "$sum" | sed -n '1,1p')
echo "top JIT function: $top"
check "the summary has a named JIT function" test -n "$top"

# self-contained: everything inline, nothing fetched
check "no external scripts or styles" bash -c "! grep -Eiq '<script[^>]+src=|<link[^>]+href=|https?://[a-z0-9.-]+/[^\"]*\\.(js|css)' '$page'"
check "the run's summary is in the page (Context button)" grep -q 'in named JIT code' "$page"

# folded stacks: JIT frames marked _[j], reachable from main
check "stacks.folded: the top JIT function marked _[j]" grep -qF -- ";$top""_[j] " "$T/fg/stacks.folded"
check "stacks.folded: JIT frames called from the C code (call graph through JIT)" \
	grep -qE ';main;run_compiled;[^;]+_\[j\] [0-9]+$' "$T/fg/stacks.folded"

# The page in a real browser: its scripts run, then the DOM they built is
# read.  The labels appear at the end of d3 transitions, which time
# themselves with requestAnimationFrame; under headless Chrome's virtual
# time that is not reliably driven, so the copy we load lets d3 fall back to
# setTimeout, which virtual time does drive.  The page is otherwise as is.
sed 's|<head>|<head><script>window.requestAnimationFrame = undefined;</script>|' "$page" >"$T/page.html"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
	--user-data-dir="$T/chromium" --virtual-time-budget=10000 --window-size=1280,800 \
	--dump-dom "file://$T/page.html" >"$T/dom.html" 2>"$T/chromium.log"
label="class=\"d3-flame-graph-label\" style=\"display: block;\">$top<"
check "chromium rendered the page" test -s "$T/dom.html"
check "the flame graph's SVG was built" grep -q 'class="partition d3-flame-graph"' "$T/dom.html"
# one <g> per frame: <g ... name="NAME"><rect ... fill="rgb(r,g,b)">...<title>NAME (..%, N samples)</title>
frames() { tr '\n' ' ' <"$T/dom.html" | grep -o '<g[^>]*name="[^"]*"[^>]*><rect[^>]*fill="rgb([0-9,]*)"' ; }
jit_frame=$(frames | grep -F "name=\"$top\"" | sed -n '1,1p')
echo "frame: $jit_frame"
check "the browser drew a frame for the JIT function '$top'" test -n "$jit_frame"
check "... with its name as a visible label" grep -qF "$label" "$T/dom.html"
check "... and a tooltip with its share" grep -qE "<title>$top \([0-9.]+%, [0-9]+ samples\)</title>" "$T/dom.html"
rgb=$(sed -n 's/.*fill="rgb(\([0-9,]*\))".*/\1/p' <<<"$jit_frame")
IFS=, read -r r g _ <<<"${rgb:-0,0,0}"
check "... coloured as JIT code (green: rgb($rgb))" test "$g" -ge 200 -a "$r" -le 110
c_frame=$(frames | grep -F 'name="interp_eval"' | sed -n '1,1p')
rgb=$(sed -n 's/.*fill="rgb(\([0-9,]*\))".*/\1/p' <<<"$c_frame")
IFS=, read -r r g _ <<<"${rgb:-0,0,0}"
check "C code (interp_eval) is not coloured as JIT (rgb($rgb))" test "$r" -ge 200 -a "$g" -le 130

# A screenshot, kept for a human when JITPERF_KEEP_SCREENSHOT names a file.
if [ -n "${JITPERF_KEEP_SCREENSHOT:-}" ]; then
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--user-data-dir="$T/chromium" --run-all-compositor-stages-before-draw \
		--virtual-time-budget=10000 --window-size=1280,600 \
		--screenshot="$JITPERF_KEEP_SCREENSHOT" "file://$page" >/dev/null 2>&1
fi
finish
