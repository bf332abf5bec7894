# chromium.sh: headless Chromium for the tests and the demo, sourced.
#   chromium_bin            the browser's path, or nothing
#   chromium_dom FILE OUT   the DOM after the page ran, as HTML, into OUT
#   chromium_shot FILE PNG [WIDTH,HEIGHT]   a screenshot
# No network: background services, sync and component updates are off, and
# every host name resolves to nothing.
chromium_bin() {
  command -v chromium || command -v chromium-browser || command -v google-chrome || true
}

_chromium() {
  _dir=$(mktemp -d "${TMPDIR:-/tmp}/vouch-chromium.XXXXXX")
  timeout 120 "$(chromium_bin)" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --disable-extensions --no-first-run --no-default-browser-check \
    --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$_dir" --hide-scrollbars \
    --virtual-time-budget=2000 "$@" 2>/dev/null
  _rc=$?
  rm -rf "$_dir"
  return $_rc
}

chromium_dom() {
  _chromium --dump-dom "file://$(realpath "$1")" > "$2"
}

chromium_shot() {
  _chromium --screenshot="$(realpath -m "$2")" --window-size="${3:-1200,2000}" "file://$(realpath "$1")" >/dev/null
}
