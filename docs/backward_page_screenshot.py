"""Make docs/backward_page.png: the MNIST CNN's backward page, mid-way through its steps.

    python docs/backward_page_screenshot.py [--data-dir DIR] [--step 10]

Writes the page with `python -m mnist.graph --html` (real MNIST when found, else a
random batch), opens it in headless Chromium (Debian's chromium and chromedriver,
driven by selenium), steps to `--step` and saves a 1400×900 screenshot. Prints
the page's size and its load time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

DOCS = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder of the MNIST files")
    parser.add_argument("--step", type=int, default=10, help="steps to take (1 = the first)")
    parser.add_argument("--out", type=Path, default=DOCS / "backward_page.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "cnn.html"
        command = [sys.executable, "-m", "mnist.graph", "--html", str(page), "--model", "cnn"]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        subprocess.run(command, check=True, cwd=DOCS.parent)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"):
            options.add_argument(argument)
        options.add_argument(f"--user-data-dir={Path(folder) / 'profile'}")
        driver = webdriver.Chrome(
            service=Service(executable_path="/usr/bin/chromedriver"), options=options
        )
        try:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            )
            driver.get(page.as_uri())
            load_ms = driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
            for _ in range(args.step):
                driver.find_element(By.ID, "next").click()
            driver.save_screenshot(str(args.out))
        finally:
            driver.quit()
        print(f"page: {page.stat().st_size / 1024:.0f} KiB, loaded in {load_ms:.0f} ms")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
