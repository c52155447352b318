"""The Dagster UI in a real browser: find the ERCOT assets, read the lineage graph and a
combined month's plot, materialize one partition by hand.

1. The stand-in ERCOT MIS server for 2024-11-01..02 (DA, AS and RT prices, 3 nodes plus the
   hubs) on 127.0.0.1.
2. A small demo lake in a temp dir: `dagster asset materialize` of the csv and raw_parquet
   stages of ERCOT DA, AS and RT for 2024-11-01, then their flattened and combined months
   2024-11, recorded in <tmp>/dagster_home (what `dev.py demo` does, for one ERCOT day); then
   `dagster dev` on a free port with the same DAGSTER_HOME, PMA_DATA_ROOT and
   PMA_ERCOT_MIS_URL, so a run launched from the UI downloads from the stand-in server.
3. Headless Chromium (selenium, Debian's chromium + chromium-driver): the asset catalog lists
   the ERCOT assets; the lineage graph of group ercot labels each node with its dataset
   (`da_prices_raw_parquet`, never a bare `raw_parquet`); the combined month's partition page
   shows its DA/RT/AS plot; open ercot/da_prices_csv; Materialize -> the partition dialog ->
   partition 2024-11-02 -> "Launch 1 run"; the run must succeed (GraphQL). Then the same for
   ercot/da_prices_raw_parquet (its blocking checks run), and the partition page must show
   2024-11-02 materialized by that run.

Screenshots land in data/test-artifacts/ (gitignored): ui_catalog_ercot.png,
ui_lineage_ercot.png, ui_combined_da_as_rt_hourly_2024-11.png and
ui_da_prices_raw_parquet_2024-11-02.png (their paths are printed even without -s), and
ui_failure.png when a step fails (with the tail of the dagster dev log).
Skips when /usr/bin/chromium or /usr/bin/chromedriver is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from power_market_assets.assets.combined import COMBINED_KINDS
from power_market_assets_tests.helpers import (
    ARTIFACTS,
    REPO_ROOT,
    TERMINAL_RUN_STATUSES,
    DagsterDev,
    chrome,
    free_port,
    graphql,
    missing_browser,
    wait_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser())),
]

DEMO_DAY = "2024-11-01"  # materialized through the CLI before the UI starts
UI_DAY = "2024-11-02"  # materialized from the UI
NODES = 3
# Generous: with other test suites sharing the 2 cores, every step can take 5x its usual time.
UI_TIMEOUT = 90
RUN_TIMEOUT = 300
# Asset keys are <iso>/<dataset>_<stage> (the lineage graph shows the last part).
CSV_KEY = "ercot/da_prices_csv"
RAW_KEY = "ercot/da_prices_raw_parquet"
SEEDED = ("da_prices", "as_prices", "rt_prices")  # ERCOT's combined inputs
COMBINED_KEY = "ercot/combined_da_as_rt_hourly"
MONTH = "2024-11-01"
LOCATION = "__repository__@power_market_assets.definitions"
# What the combined hourly month's `plotted` metadata lists: market and column prefix.
MARKETS = (("DA", "da_hb_"), ("RT", "rt_hb_"), ("AS", "as_"))

RUNS_QUERY = """
query ($partition: String!) {
  runsOrError(filter: {tags: [{key: "dagster/partition", value: $partition}]}) {
    __typename
    ... on Runs { results { runId status assetSelection { path } } }
    ... on PythonError { message }
  }
}
"""

MATERIALIZATIONS_QUERY = """
query ($path: [String!]!, $partitions: [String!]) {
  assetOrError(assetKey: {path: $path}) {
    __typename
    ... on Asset { assetMaterializations(partitions: $partitions) { partition runId } }
  }
}
"""


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def log(self, message: str) -> None:
        print(f"[ui-test {time.monotonic() - self.start:5.1f}s] {message}", flush=True)


def _seed_instance(home: Path, env: dict[str, str], log_path: Path) -> None:
    """The demo's state for ERCOT DA, AS and RT: stages 1-2 of DEMO_DAY, then stage 3 and the
    combined outputs of its month, recorded in `home`.

    Through the CLI with the same environment `dagster dev` gets (a separate process, so the
    test process never opens the instance). Not run_demo: it now materializes every ISO.
    """
    daily = [f"ercot/{dataset}_{stage}" for dataset in SEEDED for stage in ("csv", "raw_parquet")]
    monthly = [f"ercot/{dataset}_flattened" for dataset in SEEDED]
    monthly += [f"ercot/combined_{kind}" for kind in COMBINED_KINDS]
    _materialize_cli(home, env, log_path, DEMO_DAY, daily)
    _materialize_cli(home, env, log_path, MONTH, monthly)


def _materialize_cli(
    home: Path, env: dict[str, str], log_path: Path, partition: str, keys: list[str]
) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster) if dagster.exists() else "dagster", "asset", "materialize"]
    command += ["-m", "power_market_assets.definitions", "--partition", partition]
    command += ["--select", ",".join(keys)]
    command += ["--config-json", json.dumps({"execution": {"config": {"in_process": {}}}})]
    with open(log_path, "ab") as log:
        completed = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **env, "DAGSTER_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT,
        )
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
    assert completed.returncode == 0, f"seeding {partition} {keys} failed:\n{tail}"


def _stand_in_documents():
    from power_market_assets.registry import ercot
    from power_market_standins.ercot import generate_documents

    days = [date.fromisoformat(DEMO_DAY), date.fromisoformat(UI_DAY)]
    specs = [s for s in ercot.ERCOT_DATASETS if s.dataset in SEEDED]
    return [d for spec in specs for d in generate_documents(spec, days, n_nodes=NODES, seed=0)]


def _downloads(server) -> int:
    return sum("mirDownload" in path for _, path in list(server.requests))


def _screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"ui_{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}", flush=True)
    return path


def _dismiss_popups(driver) -> None:
    """The newsletter pop-up is off in dagster.yaml (nux); click it away if it shows anyway."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        if button.is_displayed():
            button.click()


# Scrolls every scrollable list on the page by arguments[0] pixels.
SCROLL_LISTS = """
for (const el of document.querySelectorAll('div')) {
  const style = getComputedStyle(el);
  if (el.scrollHeight > el.clientHeight + 10 && /(auto|scroll)/.test(style.overflowY)) {
    el.scrollTop += arguments[0];
  }
}"""


def _type_selection(driver, what: str, selection: str) -> None:
    """Type an asset selection into the page's search box, a CodeMirror editor: click it,
    then type into its focused textarea."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    search = wait_for(
        what,
        lambda: next(
            (e for e in driver.find_elements(By.CSS_SELECTOR, ".CodeMirror") if e.is_displayed()),
            None,
        ),
        timeout=UI_TIMEOUT,
    )
    _dismiss_popups(driver)
    search.click()
    driver.switch_to.active_element.send_keys(selection, Keys.ENTER)


def _open_catalog(driver, base_url: str, clock: Clock) -> None:
    """The catalog, filtered to the ercot group by typing into its search box."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/assets")
    _type_selection(driver, "the catalog's search box", "group:ercot")
    wait_for(
        "the catalog filtered to group:ercot",
        lambda: "asset-selection=group%3Aercot" in driver.current_url,
        timeout=UI_TIMEOUT,
    )
    expected = {f"ercot/{ds}_{stage}" for ds in ("da_prices", "rt_prices", "as_prices")
                for stage in ("csv", "raw_parquet", "flattened")}  # fmt: skip

    seen: set[str] = set()

    def asset_links():
        """The asset keys linked so far: the list renders only the rows in view, so each probe
        also scrolls it on (ERCOT has more assets than fit in the window)."""
        hrefs = [a.get_attribute("href") or "" for a in driver.find_elements(By.TAG_NAME, "a")]
        seen.update(h.split("/assets/", 1)[1].split("?")[0] for h in hrefs if "/assets/" in h)
        driver.execute_script(SCROLL_LISTS, 600)
        return seen if expected <= seen else None

    keys = wait_for("the ERCOT assets in the catalog", asset_links, timeout=UI_TIMEOUT)
    driver.execute_script(SCROLL_LISTS, -100_000)
    others = sorted(k for k in keys if not k.startswith("ercot/"))
    assert not others, f"group:ercot also lists {others}"
    # the status column fills in after the rows ("5,836 partitions" rather than "- partitions")
    wait_for(
        "the catalog's partition status",
        lambda: re.search(r"\d[\d,]* partitions", driver.find_element(By.TAG_NAME, "body").text),
        timeout=UI_TIMEOUT,
    )
    clock.log(f"catalog (group:ercot) lists {len(keys)} ERCOT assets")
    _screenshot(driver, "catalog_ercot")


def _open_csv_asset(driver) -> None:
    """From the catalog to the DA csv asset's page, by its link."""
    from selenium.webdriver.common.by import By

    link = driver.find_element(By.CSS_SELECTOR, f"a[href$='/assets/{CSV_KEY}']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    link.click()
    wait_for(
        "the csv asset page",
        lambda: driver.current_url.split("?")[0].endswith(f"/assets/{CSV_KEY}"),
        timeout=UI_TIMEOUT,
    )


def _visible_texts(driver, texts: list[str]) -> list[str]:
    """Which of `texts` some displayed element shows as its whole text."""
    from selenium.webdriver.common.by import By

    return [
        text
        for text in texts
        if any(e.is_displayed() for e in driver.find_elements(By.XPATH, f"//*[text()='{text}']"))
    ]


PRICE_CHAINS = " or ".join(
    [f'key:"ercot/{d}_*"' for d in ("da_prices", "as_prices", "rt_prices")]
    + ['key:"ercot/combined_da_as_rt_hourly"']
)


def _lineage_names_datasets(driver, base_url: str, clock: Clock) -> None:
    """The lineage graph of group ercot: every node says which dataset it is."""
    # The price chains and their combined output: the whole group (with issue 13's load, fuel
    # and renewables chains) zooms the graph out so far that it hides the node labels.
    driver.get(f"{base_url}/asset-groups")
    _type_selection(driver, "the lineage page's search box", PRICE_CHAINS)
    labels = ["da_prices_csv", "da_prices_raw_parquet", "da_prices_flattened"]
    labels += ["as_prices_raw_parquet", "rt_prices_raw_parquet", "combined_da_as_rt_hourly"]
    wait_for(
        "the ercot lineage graph with dataset labels",
        lambda: _visible_texts(driver, labels) == labels,
        timeout=UI_TIMEOUT,
    )
    bare = _visible_texts(driver, ["csv", "raw_parquet", "flattened", "da_as_rt_hourly"])
    assert bare == [], f"lineage nodes labelled without their dataset: {bare}"
    clock.log("the ercot lineage graph labels its nodes with their datasets")
    _screenshot(driver, "lineage_ercot")


def _combined_month_plot(driver, base_url: str, clock: Clock) -> Path:
    """The combined month's partition page: its `plotted` metadata names DA, RT and AS
    columns, and its `plot` (markdown over 1,000 characters, so behind "[Show Markdown]")
    opens as a PNG with one panel per market (800x700)."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/assets/{COMBINED_KEY}?view=partitions&partition={MONTH}")
    show = "//tr[td[normalize-space()='plot']]//*[text()='[Show Markdown]']"
    link = wait_for(
        f"the plot of {COMBINED_KEY} {MONTH} in its metadata",
        lambda: driver.find_elements(By.XPATH, show),
        timeout=UI_TIMEOUT,
    )[0]
    text = driver.execute_script("return document.body.textContent")
    assert all(f"{market}: {prefix}" in text for market, prefix in MARKETS), text[-3000:]
    driver.execute_script("arguments[0].click();", link)  # the cell scrolls sideways

    def plot():
        for image in driver.find_elements(By.CSS_SELECTOR, "img[src^='data:image/png']"):
            if image.is_displayed() and image.size["height"] >= 600:
                return image
        return None

    wait_for(f"the plot of {COMBINED_KEY} {MONTH} with three panels", plot, timeout=UI_TIMEOUT)
    clock.log(f"{COMBINED_KEY} {MONTH} shows its DA, RT and AS plot")
    return _screenshot(driver, f"combined_da_as_rt_hourly_{MONTH[:7]}")


def _launch_one_partition(driver, base_url: str, asset_path: str, partition: str) -> str:
    """Materialize… -> partition dialog -> type the partition -> Launch 1 run; the short run id."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, UI_TIMEOUT, poll_frequency=0.25)
    if not driver.current_url.split("?")[0].rstrip("/").endswith(f"/assets/{asset_path}"):
        driver.get(f"{base_url}/assets/{asset_path}")
    # the asset page header, then its Materialize button
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[normalize-space()='Overview']")))
    _dismiss_popups(driver)
    materialize = (By.XPATH, "//button[normalize-space()='Materialize…']")
    wait.until(ec.element_to_be_clickable(materialize)).click()

    dialog_xpath = (
        "//div[contains(@class,'dialog')]"
        "[.//*[starts-with(normalize-space(), 'Launch runs to materialize')]]"
    )

    def dialog_text(d) -> str:
        return d.find_element(By.XPATH, dialog_xpath).text

    # The dialog loads its partitions after it opens, first offering only the last 90 days;
    # 2024 partitions need "Show all partitions" (then the range reads "All time").
    wait.until(lambda d: any(t in dialog_text(d) for t in ("Show all partitions", "All time")))
    show_all = (By.XPATH, dialog_xpath + "//button[normalize-space()='Show all partitions']")
    if "All time" not in dialog_text(driver):
        wait.until(ec.element_to_be_clickable(show_all)).click()
        wait.until(lambda d: "All time" in dialog_text(d))
    box = wait.until(ec.element_to_be_clickable((By.XPATH, dialog_xpath + "//input[@type='text']")))
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(partition, Keys.ENTER)
    wait.until(lambda d: re.search(r"\b1 partition\b", d.find_element(By.XPATH, dialog_xpath).text))
    launch = (By.XPATH, dialog_xpath + "//button[normalize-space()='Launch 1 run']")
    toasts_before = _launched_toasts(driver)  # an earlier launch's toast may still be up
    wait.until(ec.element_to_be_clickable(launch)).click()
    new_ids = wait.until(lambda d: _launched_toasts(d) - toasts_before)
    assert len(new_ids) == 1, new_ids
    return new_ids.pop()


def _launched_toasts(driver) -> set[str]:
    """Short run ids of the "Launched run <id>" toasts on the page."""
    from selenium.webdriver.common.by import By

    return set(
        re.findall(r"Launched run ([0-9a-f]{8})\b", driver.find_element(By.TAG_NAME, "body").text)
    )


def _wait_for_run(
    dev: DagsterDev, short_id: str, asset_path: str, timeout: float = RUN_TIMEOUT
) -> str:
    """Poll GraphQL until the run launched from the UI ends; return its full id."""
    path = asset_path.split("/")

    def run_of_ui():
        data = graphql(dev.base_url, RUNS_QUERY, {"partition": UI_DAY})["runsOrError"]
        assert data["__typename"] == "Runs", data
        for run in data["results"]:
            if run["runId"].startswith(short_id):
                return run
        return None

    run = wait_for(f"run {short_id} to be recorded", run_of_ui, timeout=UI_TIMEOUT)
    assert [s["path"] for s in run["assetSelection"]] == [path], run
    run = wait_for(
        f"run {short_id} ({asset_path} {UI_DAY}) to finish",
        lambda: (r := run_of_ui()) and r["status"] in TERMINAL_RUN_STATUSES and r,
        timeout=timeout,
    )
    assert run["status"] == "SUCCESS", (
        f"run {run['runId']} ended {run['status']}; dagster dev log:\n{dev.log_tail(80)}"
    )
    events = graphql(dev.base_url, MATERIALIZATIONS_QUERY, {"path": path, "partitions": [UI_DAY]})[
        "assetOrError"
    ]["assetMaterializations"]
    assert any(e["partition"] == UI_DAY and e["runId"] == run["runId"] for e in events), events
    return run["runId"]


def _ui_shows_materialized(driver, base_url: str, asset_path: str, run_id: str) -> None:
    """The asset's partition page shows UI_DAY materialized, with a link to the UI's run."""
    from selenium.webdriver.common.by import By

    url = f"{base_url}/assets/{asset_path}?view=partitions&partition={UI_DAY}"
    driver.get(url)

    last_load = [time.monotonic()]

    def shown():
        links = driver.find_elements(By.CSS_SELECTOR, f"a[href*='/runs/{run_id}']")
        tags = driver.find_elements(
            By.XPATH,
            f"//*[normalize-space()='{UI_DAY}']/following::*[normalize-space()='Materialized']",
        )
        if links and tags:
            return True
        if time.monotonic() - last_load[0] > 15:  # rendered before the live data caught up
            driver.refresh()
            last_load[0] = time.monotonic()
        return False

    wait_for(
        f"the UI to show {asset_path} {UI_DAY} materialized by run {run_id[:8]}",
        shown,
        UI_TIMEOUT,
        1,
    )
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Latest materialization" in body, body[:2000]


def test_materialize_one_partition_from_the_dagster_ui(tmp_path: Path, capsys):
    clock = Clock()
    root = tmp_path / "lake_root"
    home = root / "dagster_home"
    home.mkdir(parents=True)
    # No telemetry, and no newsletter pop-up over the page (the "nux").
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")

    from power_market_standins.ercot_server import ErcotStandInServer

    driver = None
    with ErcotStandInServer(_stand_in_documents()) as server:
        env = {
            "PMA_DATA_ROOT": str(root),
            "PMA_ERCOT_CHANNEL": "mis",
            "PMA_ERCOT_MIS_URL": server.base_url,
        }
        _seed_instance(home, env, tmp_path / "seed.log")
        clock.log(f"ERCOT {DEMO_DAY} and month {MONTH[:7]} materialized into {root} (CLI)")
        downloads_before = _downloads(server)
        dev = DagsterDev(home, free_port(), env, tmp_path / "dagster_dev.log")
        try:
            with dev:
                clock.log(f"dagster dev serving {dev.base_url} (stand-in MIS {server.base_url})")
                driver = chrome(tmp_path / "chromium-profile")
                _open_catalog(driver, dev.base_url, clock)
                _open_csv_asset(driver)
                csv_path = CSV_KEY
                short_id = _launch_one_partition(driver, dev.base_url, csv_path, UI_DAY)
                clock.log(f"launched run {short_id} for {csv_path} {UI_DAY} from the UI")
                csv_run = _wait_for_run(dev, short_id, csv_path)
                clock.log(f"run {csv_run[:8]} succeeded")
                assert _downloads(server) > downloads_before, (
                    "the UI's run never downloaded from the stand-in server"
                )

                raw_path = RAW_KEY
                short_id = _launch_one_partition(driver, dev.base_url, raw_path, UI_DAY)
                clock.log(f"launched run {short_id} for {raw_path} {UI_DAY} from the UI")
                raw_run = _wait_for_run(dev, short_id, raw_path)
                clock.log(f"run {raw_run[:8]} succeeded")

                _ui_shows_materialized(driver, dev.base_url, raw_path, raw_run)
                shot = _screenshot(driver, f"da_prices_raw_parquet_{UI_DAY}")
                assert shot.stat().st_size > 10_000
                clock.log("the UI shows the partition materialized")

                _lineage_names_datasets(driver, dev.base_url, clock)
                plot_shot = _combined_month_plot(driver, dev.base_url, clock)
        except BaseException:
            if driver is not None:
                with contextlib.suppress(Exception):
                    _screenshot(driver, "failure")
            print(f"dagster dev log tail:\n{dev.log_tail(80)}")
            raise
        finally:
            if driver is not None:
                driver.quit()
    clock.log("done")
    with capsys.disabled():  # the artifact's path, even under -q without -s
        print(f"\nUI screenshots: {shot}, {plot_shot}")
