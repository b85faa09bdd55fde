"""A real browser (Debian's Chromium through Playwright; nothing is downloaded) against a live server:
a staff user logs in, reads the dashboard's occupancy numbers, opens the facility map, toggles a spot
into maintenance and sees its colour change. Screenshots go to ``BROWSER_ARTIFACTS`` (default
``.data/browser-artifacts``)."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory
from bookings import services as booking_services
from bookings.models import Booking
from parking.models import Spot
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("BROWSER_ARTIFACTS", Path(__file__).resolve().parents[2] / ".data" / "browser-artifacts")
)

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(
            f"Chromium is required for the browser tests in CI ({CHROMIUM}); see scripts/ensure_chromium.sh"
        )
    pytest.skip(
        f"Chromium not installed at {CHROMIUM} (scripts/ensure_chromium.sh installs it)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]


@pytest.fixture
def browser_page():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs beside the live server
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        yield page
        browser.close()


@pytest.fixture
def staffed_floor(org_a, facility, zone, window):
    user = UserFactory(email="desk@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=("parking", "bookings")))
    MembershipFactory(user=user, organization=org_a, role=Role.STAFF)
    spots = {code: make_spot(zone, code, grid_row=0, grid_column=n) for n, code in enumerate(("P-1", "P-2", "P-3"))}
    driver = UserFactory(email="parker@example.com")
    start, end = window
    booking = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver,
            vehicle=VehicleFactory(owner=driver, vehicle_type="standard"),
            facility=facility,
            spot=spots["P-2"],
            start=start,
            end=end,
        )
    )
    now = timezone.now()
    Booking.objects.filter(pk=booking.pk).update(start=now - timedelta(hours=1), end=now + timedelta(hours=3))
    booking_services.booking_check_in(booking_id=booking.pk, actor=driver, at=now - timedelta(minutes=10))
    return user, spots


def test_staff_reads_the_dashboard_and_puts_a_spot_into_maintenance_on_the_map(
    live_server, browser_page, staffed_floor, facility, settings
):
    settings.LIVE_STREAM_SECONDS = 2  # the pages' event streams end quickly (they hold a server thread)
    user, spots = staffed_floor
    page = browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard")
    assert page.inner_text("#total-available") == "2"
    assert page.inner_text("#total-occupied") == "1"
    assert page.inner_text("#total-maintenance") == "0"
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.click(f"a.map-link[href='/admin/backoffice/map/{facility.pk}/']")
    cell = page.locator(f"[data-spot='{spots['P-1'].pk}']")
    cell.wait_for()
    assert "available" in cell.get_attribute("class")
    assert "occupied" in page.locator(f"[data-spot='{spots['P-2'].pk}']").get_attribute("class")
    page.screenshot(path=str(ARTIFACTS / "map-before.png"), full_page=True)

    cell.click()
    page.wait_for_selector("#spot-panel:not([hidden])")
    assert page.inner_text("#spot-title").startswith("P-1")
    page.click("#toggle-maintenance")
    page.wait_for_function(
        "id => document.querySelector(`[data-spot='${id}']`).classList.contains('maintenance')", arg=spots["P-1"].pk
    )
    color = cell.evaluate("element => getComputedStyle(element).backgroundColor")
    assert color == "rgb(176, 184, 193)"  # the maintenance grey
    page.screenshot(path=str(ARTIFACTS / "map-after.png"), full_page=True)
    assert Spot.objects.get(pk=spots["P-1"].pk).status == "maintenance"
