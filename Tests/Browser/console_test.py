"""The web console in a real browser (headless Chromium driven by Selenium).

Scenario: sign in, create a token restricted to one source, read it from the shown-once panel,
ingest with it over HTTP, open its page and set a rate limit and an allowed origin, see a page on
another origin refused, see the request in the token's charts, revoke it in the page, see the next
ingest refused, reload and find the secret nowhere in the page. Screenshots of the tokens page
before and after revoking and of the token's own page are saved in the output folder.

Run by scripts/browser-test.sh, which starts Keyflare and passes its address and credentials in
the environment.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["KEYFLARE_BROWSER_BASE"]
EMAIL = os.environ["KEYFLARE_BROWSER_EMAIL"]
PASSWORD = os.environ["KEYFLARE_BROWSER_PASSWORD"]
SOURCE_ID = os.environ["KEYFLARE_BROWSER_SOURCE_ID"]
SOURCE_NAME = os.environ["KEYFLARE_BROWSER_SOURCE_NAME"]
OUTPUT = os.environ["KEYFLARE_BROWSER_OUTPUT"]


def ingest(token, origin=None):
    headers = {"X-API-KEY": token, "Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    request = urllib.request.Request(
        f"{BASE}/api/logs?source={SOURCE_ID}",
        data=json.dumps({"message": "from the browser test"}).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def scenario(driver):
    wait = WebDriverWait(driver, 15)

    # 1. Sign in.
    driver.get(f"{BASE}/console/access-tokens")
    wait.until(EC.presence_of_element_located((By.ID, "email")))
    check("/console/login" in driver.current_url, "a signed-out visitor is sent to sign in")
    driver.find_element(By.ID, "email").send_keys(EMAIL)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "create-title")))
    check(driver.find_element(By.TAG_NAME, "h1").text == "Manage Access Tokens", "lands on the tokens page")

    # 2. Create a token restricted to one source.
    driver.find_element(By.ID, "description").send_keys("browser test token")
    ingest_box = driver.find_element(By.CSS_SELECTOR, "input[name=scope][value=ingest]")
    if not ingest_box.is_selected():
        ingest_box.click()
    Select(driver.find_element(By.ID, "ingest-sources")).select_by_visible_text(SOURCE_NAME)
    driver.find_element(By.XPATH, "//section[@aria-labelledby='create-title']//button[@type='submit']").click()

    # 3. Read it from the shown-once panel.
    field = wait.until(EC.presence_of_element_located((By.ID, "secret-value")))
    secret = field.get_attribute("value")
    check(secret.startswith("kf_pub_"), f"a public token is shown: {secret[:7]}")
    check("will not be shown again" in driver.page_source, "the panel warns it is shown once")
    # The Copy button is wired by /console/static/console.js, the only script the CSP allows.
    driver.find_element(By.ID, "copy-secret").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "copy-status"), "Copied."))
    row = driver.find_element(By.XPATH, "//tr[td[normalize-space()='browser test token']]")
    check(f"ingest: {SOURCE_NAME}" in row.text, "the scope is shown with the source's name")
    driver.save_screenshot(os.path.join(OUTPUT, "tokens-before-revoke.png"))

    # 4. Ingest with it.
    status, body = ingest(secret)
    check(status == 200 and body == {"message": "Logged!"}, f"ingest with the new token: {status} {body}")

    # 5. On the token's own page, set a rate limit and an allowed origin.
    driver.find_element(By.LINK_TEXT, "browser test token").click()
    wait.until(EC.presence_of_element_located((By.ID, "settings-title")))
    token_path = driver.current_url[len(BASE):]
    rps = driver.find_element(By.ID, "rps")
    rps.clear()
    rps.send_keys("100")
    driver.find_element(By.ID, "allowed-origins").send_keys("https://shop.example.com")
    driver.find_element(By.XPATH, "//form[contains(@action, '/settings')]//button[@type='submit']").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
    check("Settings saved" in driver.page_source, "the page confirms the settings")
    limit = driver.find_element(By.CSS_SELECTOR, "[data-testid=limit]").text
    check(limit.startswith("100 requests a second"), f"the limit in force is shown: {limit}")
    restricted = driver.find_element(By.CSS_SELECTOR, "[data-testid=restricted]").text
    check("https://shop.example.com" in restricted, f"the origin list is shown: {restricted}")

    # 6. A page on another origin is refused; the allowed one is not, and sees the limit's headers.
    status, body = ingest(secret, origin="https://evil.example")
    check(status == 403, f"ingest from another origin: {status} {body}")
    status, body = ingest(secret, origin="https://shop.example.com")
    check(status == 200, f"ingest from the allowed origin: {status} {body}")

    # 7. The requests show in the token's charts once the usage is flushed (every second here).
    for _ in range(30):
        driver.refresh()
        wait.until(EC.presence_of_element_located((By.ID, "settings-title")))
        hourly = driver.find_element(By.CSS_SELECTOR, "[data-testid=chart-hourly]")
        summary = hourly.find_element(By.TAG_NAME, "figcaption").text
        if summary.startswith("2 requests"):
            break
        time.sleep(0.5)
    check(summary.startswith("2 requests in 48 hours"), f"the hourly chart counts the requests: {summary}")
    check(hourly.find_elements(By.CSS_SELECTOR, "svg rect.chart-ok"), "the hourly chart draws a bar")
    cells = hourly.find_elements(By.CSS_SELECTOR, "table.sr tbody tr")
    check(len(cells) == 48, f"the screen-reader table has 48 hours: {len(cells)}")
    origins = driver.find_element(By.CSS_SELECTOR, "[data-testid=origins]").text
    check("https://shop.example.com" in origins and "https://evil.example" not in origins, f"top origins (refused ones are not stored): {origins}")
    driver.save_screenshot(os.path.join(OUTPUT, "token-page.png"))
    driver.find_element(By.LINK_TEXT, "Access tokens").click()
    wait.until(EC.presence_of_element_located((By.ID, "create-title")))
    row = driver.find_element(By.XPATH, "//tr[td[normalize-space()='browser test token']]")
    daily = row.find_element(By.CSS_SELECTOR, "figure.chart figcaption").text
    check(daily.startswith("2 requests in 30 days"), f"the tokens page charts 30 days: {daily}")

    # 8. Revoke it in the page.
    row.find_element(By.LINK_TEXT, "Revoke").click() if row.find_elements(By.LINK_TEXT, "Revoke") else \
        row.find_element(By.PARTIAL_LINK_TEXT, "Revoke").click()
    wait.until(EC.presence_of_element_located((By.ID, "confirm-revoke")))
    check("This cannot be undone" in driver.page_source, "the confirmation says it cannot be undone")
    driver.find_element(By.ID, "confirm-revoke").click()
    wait.until(EC.presence_of_element_located((By.ID, "create-title")))
    check("The token has been revoked." in driver.page_source, "the page confirms the revocation")
    check("browser test token" not in driver.page_source, "the revoked token is no longer listed")
    driver.save_screenshot(os.path.join(OUTPUT, "tokens-after-revoke.png"))

    # 9. The next ingest is refused.
    status, body = ingest(secret)
    check(status == 401, f"ingest after revoking: {status} {body}")

    # 10. Reload: the secret is nowhere in the page.
    driver.refresh()
    wait.until(EC.presence_of_element_located((By.ID, "create-title")))
    check(secret not in driver.page_source, "the secret is gone after a reload")
    check(not driver.find_elements(By.ID, "secret-value"), "no secret panel after a reload")

    # The pages also work at phone width: only a table may scroll, inside its own box.
    driver.set_window_size(360, 900)
    for path in ("/console/access-tokens", "/console/sources", "/console/endpoints", token_path):
        driver.get(f"{BASE}{path}")
        wait.until(EC.presence_of_element_located((By.TAG_NAME, "h1")))
        inner = driver.execute_script("return document.documentElement.clientWidth")
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        wide = driver.execute_script(
            "var w = document.documentElement.clientWidth, out = [];"
            "document.querySelectorAll('body *').forEach(function (e) {"
            "  var r = e.getBoundingClientRect();"
            "  if (r.right > w + 1 && !e.closest('.table-wrap')) out.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right));"
            "}); return out.slice(0, 8);")
        check(scroll <= inner, f"{path} is {scroll} px wide in a {inner} px viewport: {wide}")
        name = "token" if path == token_path else path.rsplit("/", 1)[-1]
        driver.save_screenshot(os.path.join(OUTPUT, f"{name}-360px.png"))

    # No page broke its Content-Security-Policy (Chromium logs every violation to the console).
    violations = [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]
    check(not violations, f"CSP violations: {violations}")


def main():
    os.makedirs(OUTPUT, exist_ok=True)
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    failed = 0
    try:
        scenario(driver)
    except Exception as error:  # noqa: BLE001 - report any failure as a failed test
        failed = 1
        driver.save_screenshot(os.path.join(OUTPUT, "failure.png"))
        print(f"browser scenario failed: {error!r}", file=sys.stderr)
    finally:
        driver.quit()
    print(f"browser: {1 - failed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    sys.exit(main())
