#!/usr/bin/env python3
"""The workbench in headless Chromium, as a person uses it (serve_browser.sh).

    python3 tests/serve_browser.py CHROMIUM URL DB

URL is the link `vouch serve` printed, for DB, which holds two runs of the
example partners (B002's name is markup) and a schedule. Clicks through the
runs, a run's partners (sorted, filtered, paged), a partner, a diff and the
schedules (pausing and resuming one); then starts `vouch vet` ($VOUCH) on
20,000 generated partners beside the server and watches the runs page show
the run as it goes and when it ends, without a reload; opens that run, whose
summary a child of the server makes while its partners show, and sees the
page fill in. Prints TAP lines; stops at the first failure.
"""
import csv
import errno
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, TestError  # noqa: E402

chromium, url, db = sys.argv[1:4]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKUP = "<script>alert(1)</script><b>Siam</b>"
step = "start"


def ok(name, cond=True, why=""):
    if not cond:
        raise TestError(why or "check failed")
    print("ok - serve in Chromium: " + name, flush=True)


def texts(b, sel):
    return b.eval("[...document.querySelectorAll(%r)].map(e => e.textContent.trim())" % sel)


def numbers(b, sel):
    """The numbers in cells `sel`, None for a cell without one (n/a)."""
    return [float(t) if re.match(r"^-?[0-9.]+$", t) else None for t in texts(b, sel)]


def ordered(xs, desc):
    """In order, cells without a number last."""
    n = xs.index(None) if None in xs else len(xs)
    return all(x is None for x in xs[n:]) and \
        all((a >= c) if desc else (a <= c) for a, c in zip(xs[:n], xs[1:n]))


def query(b):
    return dict(re.findall(r"[?&]([^=&]+)=([^&]*)", b.eval("location.search")))


def fifo_writer(path, proc, timeout=60):
    """The write end of FIFO `path` once `proc` has opened it to read."""
    deadline = time.time() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            return fd
        except OSError as e:
            if e.errno != errno.ENXIO or proc.poll() is not None or time.time() > deadline:
                raise TestError("the vet never opened %s (%s; exit %s)" % (path, e, proc.poll()))
            time.sleep(0.05)


def partners_generated(path, n):
    """n partners made from the examples' rows (ids and names numbered; no
    audience list, whose overlaps would grow with the square of n)."""
    with open(os.path.join(root, "examples", "partners.csv"), newline="") as f:
        rows = list(csv.reader(f))
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(rows[0])
        aud = rows[0].index("audience")
        for i in range(n):
            r = list(rows[1 + i % (len(rows) - 1)])
            r[0], r[1], r[aud] = "%s-%d" % (r[0], i), "%s %d" % (r[1], i), ""
            w.writerow(r)


def main(b):
    global step
    base = url.split("/?")[0]

    step = "the link"
    b.goto(url)
    ok("the link opens the runs, its token kept in a cookie, not the address",
       b.eval("location.href") == base + "/", b.eval("location.href"))
    runs = [int(x) for x in b.eval("[...document.querySelectorAll('#runs tbody tr')].map(r => r.dataset.run)")]
    ok("the runs are listed", runs == [2, 1], str(runs))
    ok("the event stream connects", b.wait("document.getElementById('live').textContent === 'live'"))

    step = "a run"
    b.click("#runs a[href='/run/1']")
    ok("a run's page", b.eval("location.pathname") == "/run/1" and
       len(texts(b, "#partners tbody tr")) == 22, b.eval("location.href"))
    ranks = texts(b, "#partners td.rank")
    ok("ranked from 1", ranks[:3] == ["1", "2", "3"], str(ranks[:3]))
    shot = os.environ.get("SHOT")
    if shot:  # the README's picture of the workbench is this page
        b.screenshot(shot)
        ok("a screenshot of the run's page", os.path.getsize(shot) > 10000, shot)

    step = "sorting"
    b.click("#partners thead a[href*='sort=total']")
    q = query(b)
    ok("sorted by total", q.get("sort") == "total" and ordered(numbers(b, "#partners td.total"), q.get("dir") == "desc"),
       str(q))
    b.click("#partners thead a[href*='sort=total']")
    q2 = query(b)
    ok("and the other way", q2.get("dir") != q.get("dir") and
       ordered(numbers(b, "#partners td.total"), q2.get("dir") == "desc"), str(q2))
    b.click("#partners thead a[href*='sort=trust']")
    col = 1 + b.eval("[...document.querySelectorAll('#partners thead th')].findIndex(t => /trust/.test(t.textContent))")
    ok("sorted by a dimension", ordered(numbers(b, "#partners tbody td:nth-child(%d)" % col),
                                        query(b).get("dir") == "desc"), str(query(b)))

    step = "filtering"
    b.eval("document.querySelector('select[name=verdict]').value = 'review'")
    b.click("form.filters button")
    verdicts = texts(b, "#partners td.verdict")
    pager = b.eval("document.querySelector('.pager span').textContent")
    ok("filtered by verdict", verdicts and all("review" in v for v in verdicts) and
       pager.endswith("of %d" % len(verdicts)), "%s %s" % (verdicts, pager))
    ok("the form keeps the filter", b.eval("document.querySelector('select[name=verdict]').value") == "review")

    step = "paging"
    b.goto(base + "/run/1?limit=5")
    ok("a page of five", b.eval("document.querySelector('.pager span').textContent") == "1–5 of 22")
    b.click(".pager a")
    ok("the next page", b.eval("document.querySelector('.pager span').textContent") == "6–10 of 22" and
       texts(b, "#partners td.rank")[0] == "6")
    b.click(".pager a")
    ok("and back", texts(b, "#partners td.rank")[0] == "1")

    step = "markup"
    b.eval("document.querySelector('input[name=q]').value = 'Siam'")
    b.click("form.filters button")
    cell = "#partners td.partner"
    ok("a name full of markup shows as text",
       MARKUP in (b.eval("document.querySelector(%r).textContent" % cell) or "") and
       b.eval("document.querySelectorAll('#partners td.partner b, #partners td.partner script').length") == 0,
       b.eval("document.querySelector(%r).innerHTML" % cell))

    step = "a partner"
    b.click("#partners td.partner a")
    ok("a partner across runs", b.eval("location.pathname") == "/partner/B002" and
       "B002 · brand · 2 runs" in b.eval("document.querySelector('header').textContent"),
       b.eval("document.querySelector('header').textContent"))
    ok("every rule, by replay", len(texts(b, "#rules tbody tr")) > 5)
    ok("no script from the data ran", not b.dialogs, str(b.dialogs))

    step = "a diff"
    b.click("nav a[href='/']")
    b.eval("document.querySelector('select[name=a]').value = '1';"
           "document.querySelector('select[name=b]').value = '2'")
    b.click("form[action='/diff'] button")
    ok("the diff of two runs", query(b) == {"a": "1", "b": "2"} and
       "Run #1" in b.eval("document.body.textContent") and "Run #2" in b.eval("document.body.textContent"),
       b.eval("location.href"))

    step = "schedules"
    b.click("nav a[href='/schedules']")
    ok("the schedules", texts(b, "h3.schedule") == ["nightly"] and
       "ok" in texts(b, "main table tbody td"), str(texts(b, "main td")))
    b.click("form[action$='/pause'] button")
    ok("pause, from the page", b.eval("location.pathname") == "/schedules" and
       "paused" in b.eval("document.querySelector('main p').textContent"),
       b.eval("location.href + ' ' + document.body.textContent.slice(0, 200)"))
    b.click("form[action$='/resume'] button")
    ok("resume", "active" in b.eval("document.querySelector('main p').textContent"))
    b.click("nav a[href='/vet']")
    ok("the vet form", b.eval("!!document.querySelector('form[action=\"/api/vet\"] input[name=file]')"))

    step = "live"
    b.click("nav a[href='/']")
    b.wait("document.getElementById('live').textContent === 'live'")
    # What the page shows of the new run, each time it changes; and a mark
    # that a reload would wipe out.
    b.eval("""window.stayed = true; window.seen = [];
      new MutationObserver(function () {
        var r = document.querySelector('#runs tbody tr[data-run="3"] td.status');
        var s = (r ? r.textContent : '-') + '|' + document.getElementById('live').textContent;
        if (seen[seen.length - 1] !== s) seen.push(s);
      }).observe(document.body, {subtree: true, childList: true, characterData: true});""")
    # The run reads its partners from a pipe that is held half full until
    # the page has shown it in progress: a run that ends within one poll of
    # the record would otherwise never be seen running.
    src = os.path.join(os.path.dirname(db), "big.src")
    big = os.path.join(os.path.dirname(db), "big.csv")
    partners_generated(src, 20000)
    with open(src, "rb") as f:
        data = f.read()
    half = data.rindex(b"\n", 0, len(data) // 2) + 1
    os.mkfifo(big)
    with open(os.path.join(os.path.dirname(db), "vet.out"), "w") as out:
        vet = subprocess.Popen([os.environ["VOUCH"], "--db", db, "vet", big], stdout=out, stderr=out)
        try:
            w = fifo_writer(big, vet)
            try:
                os.write(w, data[:half])
                try:
                    b.wait("seen.some(s => /^running\\|/.test(s) || /run #3/.test(s))", timeout=120)
                except TestError as e:
                    raise TestError("%s; the page saw %s; vet %s" % (e, b.eval("seen"), vet.poll()))
                ok("a run in progress shows, without a reload")
                view = memoryview(data)[half:]
                while view:
                    view = view[os.write(w, view):]
            finally:
                os.close(w)
            b.wait("document.querySelector('#runs tbody tr[data-run=\"3\"] td.status')?.textContent === 'ok'",
                   timeout=300)
        finally:
            rc = vet.wait(300)
    row = texts(b, "#runs tbody tr[data-run='3'] td")
    ok("and its end, with its counts", rc == 0 and row[5] == "20000" and
       sum(int(x) for x in row[6:9]) == 20000, "vet exited %d; %s" % (rc, row))
    ok("the page was never reloaded", b.eval("window.stayed === true") and
       b.eval("document.getElementById('live').textContent") == "live", str(b.eval("seen")))

    step = "a large run"
    b.click("#runs a[href='/run/3']")
    ok("its first page", b.eval("document.querySelector('.pager span').textContent") == "1–50 of 20000")
    if b.eval("!!document.getElementById('pending')"):  # its summary is made beside the server
        b.event("Page.loadEventFired", timeout=120)
    ok("its summary", not b.eval("!!document.getElementById('pending')") and
       "Verdicts" in texts(b, "h2"), str(texts(b, "h2")))
    b.click(".pager a")
    ok("its second", b.eval("document.querySelector('.pager span').textContent") == "51–100 of 20000")


if __name__ == "__main__":
    try:
        with Browser(chromium, timeout=60) as b:
            main(b)
    except Exception as e:  # noqa: BLE001 (any failure is a failed check)
        print("not ok - serve in Chromium: %s: %s" % (step, e), flush=True)
        sys.exit(1)
