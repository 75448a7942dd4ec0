"""The web page's start-up time and time per photo, measured through the page.

    python bench/app.py --model-dir MODEL PHOTO [PHOTO ...] [--screenshot OUT.png]

Starts run_app.py on a free local port and times it from the start of the
process until the page is served. Then, in headless Chromium (Debian's
chromium package, driven by Playwright), each photo is uploaded on a fresh
page and timed from the button's press until the answer shows; five times,
the median. --screenshot keeps a picture of the page with the first photo's
answer (a 256-colour PNG).
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
REPEATS = 5


def start(model_dir):
    """(process, url, seconds until the page was served)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    url = 'http://127.0.0.1:{}/'.format(port)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'run_app.py'),
                             '--model-dir', model_dir, '--port', str(port)])
    while True:
        if proc.poll() is not None:
            sys.exit('run_app.py ended with status {}'.format(proc.returncode))
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return proc, url, time.perf_counter() - t
        except OSError:
            time.sleep(0.1)


def time_photo(browser, url, path, screenshot=None):
    """Seconds from the button's press until the page shows the answer."""
    page = browser.new_page(viewport={'width': 1000, 'height': 800})
    page.goto(url)
    page.locator('#photos input[type=file]').set_input_files(path)
    page.wait_for_function('document.querySelector("#photos").innerText.includes({!r})'
                           .format(os.path.splitext(os.path.basename(path))[0]))
    t = time.perf_counter()
    page.click('#run')
    page.wait_for_function("document.querySelector('#report textarea').value !== ''")
    page.wait_for_selector('#annotated img')
    seconds = time.perf_counter() - t
    if screenshot:
        page.wait_for_timeout(500)
        page.screenshot(path=screenshot, full_page=True)
    page.close()
    return seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model-dir', required=True)
    ap.add_argument('photos', nargs='+')
    ap.add_argument('--screenshot')
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    proc, url, startup = start(args.model_dir)
    print('start-up: {:.1f} s until the page was served'.format(startup))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            for k, path in enumerate(args.photos):
                times = [time_photo(browser, url, path, args.screenshot if k == i == 0 else None)
                         for i in range(REPEATS)]
                print('{}: {:.2f} s per photo (median of {}; {})'.format(
                    os.path.basename(path), statistics.median(times), REPEATS,
                    ', '.join('{:.2f}'.format(t) for t in times)))
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait()
    if args.screenshot:
        from PIL import Image
        Image.open(args.screenshot).convert('RGB').quantize(256).save(args.screenshot,
                                                                      optimize=True)


if __name__ == '__main__':
    main()
