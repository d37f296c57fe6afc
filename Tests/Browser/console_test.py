"""The web console in a real browser (headless Chromium driven by Selenium).

Scenario: sign in, create a token restricted to one source, read it from the shown-once panel,
ingest with it over HTTP, revoke it in the page, see the next ingest refused, reload and find the
secret nowhere in the page. Screenshots of the token page before and after revoking are saved in
the output folder.

Run by scripts/browser-test.sh, which starts Keyflare and passes its address and credentials in
the environment.
"""

import json
import os
import sys
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


def ingest(token):
    request = urllib.request.Request(
        f"{BASE}/api/logs?source={SOURCE_ID}",
        data=json.dumps({"message": "from the browser test"}).encode(),
        headers={"X-API-KEY": token, "Content-Type": "application/json"},
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

    # 5. Revoke it in the page.
    row.find_element(By.LINK_TEXT, "Revoke").click() if row.find_elements(By.LINK_TEXT, "Revoke") else \
        row.find_element(By.PARTIAL_LINK_TEXT, "Revoke").click()
    wait.until(EC.presence_of_element_located((By.ID, "confirm-revoke")))
    check("This cannot be undone" in driver.page_source, "the confirmation says it cannot be undone")
    driver.find_element(By.ID, "confirm-revoke").click()
    wait.until(EC.presence_of_element_located((By.ID, "create-title")))
    check("The token has been revoked." in driver.page_source, "the page confirms the revocation")
    check("browser test token" not in driver.page_source, "the revoked token is no longer listed")
    driver.save_screenshot(os.path.join(OUTPUT, "tokens-after-revoke.png"))

    # 6. The next ingest is refused.
    status, body = ingest(secret)
    check(status == 401, f"ingest after revoking: {status} {body}")

    # 7. Reload: the secret is nowhere in the page.
    driver.refresh()
    wait.until(EC.presence_of_element_located((By.ID, "create-title")))
    check(secret not in driver.page_source, "the secret is gone after a reload")
    check(not driver.find_elements(By.ID, "secret-value"), "no secret panel after a reload")

    # The pages also work at phone width: only a table may scroll, inside its own box.
    driver.set_window_size(360, 900)
    for path in ("/console/access-tokens", "/console/sources", "/console/endpoints"):
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
        name = path.rsplit("/", 1)[-1]
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
