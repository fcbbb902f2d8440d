"""The dashboard at /ui/ in a real headless Chromium: what an operator
sees after a claim, a deleted allocation and a ledger of writes, the
headroom form, the row filter, and that the page needs a token."""
from __future__ import annotations

import os
import shutil
import uuid

from tests.conftest import ApiClient
from tests.functional.test_audit import PF_NAME, claim_vf, put_a16_host
from tests.seeds import A16_ALIAS

# Set to a path to keep the screenshot (api-ref/dashboard.png is made so).
SCREENSHOT_ENV = "PLACEMENT_PCI_DASHBOARD_SCREENSHOT"


def seed(api):
    pf = put_a16_host(api, functions=(4, 5, 6, 7))[PF_NAME]
    put_a16_host(api, hostname="compute2", functions=(4, 5))
    assert api.post("/pci/aliases", json={"alias": A16_ALIAS}).status_code in (200, 201)
    healthy, broken = str(uuid.uuid4()), str(uuid.uuid4())
    claim_vf(api, healthy, pf)
    claim_vf(api, broken, pf)
    assert api.delete(f"/allocations/{broken}").status_code == 204
    return healthy, broken


def test_dashboard_in_a_real_browser(browser, browser_app, served_app, tmp_path):
    healthy, broken = seed(ApiClient(browser_app.test_client()))
    context = browser.new_context(viewport={"width": 1400, "height": 1100},
                                  extra_http_headers={"X-Auth-Token": "admin"})
    page = context.new_page()
    requests_outside = []
    page.on("request", lambda request: None if request.url.startswith(served_app)
            else requests_outside.append(request.url))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    response = page.goto(f"{served_app}/ui/")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")

    # Hosts and their trees with device utilisation per resource class.
    hosts = page.locator("#hosts details.host")
    assert hosts.count() == 2
    pf_row = page.locator(f'tr.provider-row[data-provider="{PF_NAME}"]')
    assert "CUSTOM_A16_16A" in pf_row.inner_text()
    # Two VFs claimed, one allocation deleted behind the service's back.
    assert pf_row.locator(".usage").inner_text() == "1 / 4"
    # Claims and their devices.
    claims = page.locator("#claims")
    assert healthy in claims.inner_text() and broken in claims.inner_text()
    assert "0000:25:00.4" in claims.inner_text()
    # Audit findings name the broken claim.
    audit = page.locator("#audit")
    assert "claim_without_allocation" in audit.inner_text()
    assert broken in audit.inner_text()
    # The ledger's latest entries, newest first.
    first_entry = page.locator("#ledger tr.filterable").first.inner_text()
    assert "allocations.delete" in first_entry and broken in first_entry
    assert page.locator("#ledger tr.filterable").count() == 3

    # The row filter hides what does not match (JavaScript).
    page.fill("#filter", "compute2")
    assert page.locator("#hosts details.host:visible").count() == 1
    assert page.locator("#claims tr.filterable:visible").count() == 0
    page.fill("#filter", "")
    assert page.locator("#hosts details.host:visible").count() == 2

    # The headroom form: one VF per instance (the hosts have no CPU inventory).
    page.fill('input[name="alias_request"]', "A16_16A:1")
    page.click("#headroom-form button")
    page.wait_for_selector("#headroom-total")
    # compute1: 4 VFs, 1 held by a claim with an allocation (the broken
    # claim's device is stale, so takeable); compute2: 2 VFs.
    assert page.locator("#headroom-total").inner_text().startswith("5 more instance(s)")
    headroom_rows = page.locator("#headroom tr.filterable").all_inner_texts()
    assert [row.split("\t")[:2] for row in headroom_rows] == [["compute1", "3"],
                                                              ["compute2", "2"]]

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copy(tmp_path / "dashboard.png", os.environ[SCREENSHOT_ENV])
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert errors == [] and requests_outside == []
    context.close()


def test_dashboard_needs_a_token(browser, served_app):
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(f"{served_app}/ui/")
    assert response.status == 401
    context.close()
    context = browser.new_context(extra_http_headers={"X-Auth-Token": "someone"})
    response = context.new_page().goto(f"{served_app}/ui/")
    assert response.status == 403
    context.close()
