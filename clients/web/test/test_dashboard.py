#!/usr/bin/env python3
"""End-to-end test of the Minions web dashboard in headless Chromium.

    MINIONS_BIN=/work/main/.build/debug/minions python3 clients/web/test/test_dashboard.py

Starts `minions serve --http 127.0.0.1:0` in a temporary data directory with an admin user,
drives the dashboard with Selenium (log in, register a script model through the Models page,
chat with it and watch the streamed answer, answer an approval dialog, open every page, switch
the theme and see it remembered after a reload and a new login, narrow window) and fails on any
console error or CSP violation. Screenshots of each page go to .build/screenshots/ (or
$MINIONS_SCREENSHOTS). Every wait is bounded; exits non-zero with a message on failure.

Needs: chromium and chromium-driver (Debian), selenium (PyPI).
Environment: MINIONS_BIN (the engine), MINIONS_WEB_SERVER_CMD (optional: a command that serves
the dashboard instead of `minions serve --http`, e.g. a development bridge; it gets
`--http 127.0.0.1:0` appended and must log `http listening on HOST:PORT` on stderr),
CHROMIUM_BIN / CHROMEDRIVER_BIN (defaults /usr/bin/chromium, /usr/bin/chromedriver),
MINIONS_TEST_KEEP=1 keeps the temporary directory.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_ROOT = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(WEB_ROOT))
BIN = os.environ.get("MINIONS_BIN") or os.path.join(REPO, ".build", "debug", "minions")
SHOTS = os.environ.get("MINIONS_SCREENSHOTS") or os.path.join(REPO, ".build", "screenshots")
CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
TOTAL_BUDGET_S = 90
WAIT_S = 10
ADMIN, PASSWORD = "admin", "correct horse battery"
HELLO_SCRIPT = {"turns": [{"events": [{"text": "Hello"}, {"text": " from the dashboard."}]}]}
TOOL_SCRIPT = {"turns": [
    {"match": "(?i)^please write", "events": [{"toolCall": {"tool": "file_operations",
                                                           "arguments": {"operation": "write", "path": "note.txt", "content": "written from the dashboard"}}}]},
    {"events": [{"text": "I wrote note.txt."}]},
]}
SLOW_SCRIPT = {"turns": [{"events": [{"text": "Once"}, {"delayMs": 20000}, {"text": " upon a time."}]}]}

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    # not in this interpreter: use the venv that run.sh makes, when it is there
    _venv_py = os.path.join(os.environ.get("MINIONS_WEB_VENV", "/tmp/minions-web-venv"), "bin", "python")
    if os.path.exists(_venv_py) and not os.environ.get("MINIONS_WEB_REEXEC"):
        os.environ["MINIONS_WEB_REEXEC"] = "1"
        os.execv(_venv_py, [_venv_py, os.path.abspath(__file__), *sys.argv[1:]])
    print("FAIL: the selenium package is missing: pip install selenium (in a venv), or run clients/web/test/run.sh", file=sys.stderr)
    sys.exit(2)


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - T0:5.1f}s] {msg}", flush=True)


T0 = time.monotonic()


# ---- the server ---------------------------------------------------------------------------------

def server_command(workspace):
    custom = os.environ.get("MINIONS_WEB_SERVER_CMD")
    if custom:
        return shlex.split(custom) + ["--http", "127.0.0.1:0"]
    try:
        helptext = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Failure(f"cannot run the engine {BIN}: {e} (set MINIONS_BIN)")
    if "--http" not in helptext.stdout + helptext.stderr:
        raise Failure(f"{BIN} serve has no --http option yet (set MINIONS_WEB_SERVER_CMD to a bridge to test without it)")
    cmd = [BIN, "serve", "--http", "127.0.0.1:0", "--workspace", workspace]
    if "--web-root" in helptext.stdout + helptext.stderr:
        cmd += ["--web-root", WEB_ROOT]  # this checkout's dashboard, whatever the binary's default
    return cmd


class Server:
    def __init__(self, tmp):
        self.tmp = tmp
        self.data = os.path.join(tmp, "data")
        self.workspace = os.path.join(tmp, "workspace")
        os.makedirs(self.data)
        os.makedirs(self.workspace)
        self.env = dict(os.environ, MINIONS_DATA_DIR=self.data, MINIONS_LOG=os.environ.get("MINIONS_LOG", "info"))
        self.proc = None
        self.stderr_lines = []
        self.port = None

    def add_admin(self):
        r = subprocess.run([BIN, "users", "add", ADMIN, "--role", "admin", "--password-stdin"], input=PASSWORD + "\n",
                           capture_output=True, text=True, env=self.env, timeout=30)
        if r.returncode != 0:
            raise Failure(f"`minions users add` failed ({r.returncode}): {r.stderr.strip()}")

    def start(self):
        cmd = server_command(self.workspace)
        log("starting " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=self.env, cwd=self.workspace)
        found = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.stderr_lines.append(line.rstrip("\n"))
                if not found.is_set():
                    m = re.search(r"http\S*\s.*?(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[0-9a-fA-F:]+\]):(\d+)", line, re.I) \
                        or re.search(r"http://[^\s/]+:(\d+)", line)
                    if m:
                        self.port = int(m.group(1))
                        found.set()
        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(15):
            self.stop()
            raise Failure("the server did not log `http listening on HOST:PORT` within 15 s; stderr:\n  " + "\n  ".join(self.stderr_lines[-20:]))
        self.base = f"http://127.0.0.1:{self.port}"
        log(f"server at {self.base}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def check_http(base):
    """The static files come with the strict CSP, /healthz answers, an unknown file is 404."""
    with urllib.request.urlopen(base + "/", timeout=5) as r:
        csp = r.headers.get("Content-Security-Policy", "")
        body = r.read().decode()
        for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
            if part not in csp:
                raise Failure(f"GET / lacks `{part}` in its Content-Security-Policy: {csp!r}")
        if 'type="module" src="js/app.js"' not in body:
            raise Failure("GET / did not serve clients/web/index.html")
    with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
        if r.status != 200:
            raise Failure(f"GET /healthz answered {r.status}")
    with urllib.request.urlopen(base + "/js/rpc.js", timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        if "javascript" not in ctype:
            raise Failure(f"GET /js/rpc.js has Content-Type {ctype!r}: browsers refuse module scripts that are not JavaScript")


# ---- the browser --------------------------------------------------------------------------------

class Browser:
    def __init__(self, downloads):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800",
                  "--force-prefers-reduced-motion", "--lang=en-US"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        opts.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
        self.downloads = downloads
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.d.set_page_load_timeout(15)
        self.d.set_script_timeout(15)
        try:
            self.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        except WebDriverException:
            pass
        self.console = []
        self.viewport(1280, 800)

    def viewport(self, width, height):
        """Sizes the window so that the page itself gets width × height CSS pixels."""
        self.d.set_window_size(width, height)
        iw, ih = self.d.execute_script("return [innerWidth, innerHeight]")
        if (iw, ih) != (width, height):
            self.d.set_window_size(width + (width - iw), height + (height - ih))

    def wait(self, cond, what, timeout=WAIT_S):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(cond)
        except TimeoutException:
            self.drain_console()
            raise Failure(f"timed out after {timeout} s waiting for {what}")

    def css(self, sel, what=None, timeout=WAIT_S, visible=True):
        cond = EC.visibility_of_element_located if visible else EC.presence_of_element_located
        return self.wait(cond((By.CSS_SELECTOR, sel)), what or sel, timeout)

    def text_is(self, sel, text, timeout=WAIT_S):
        def ok(d):
            els = d.find_elements(By.CSS_SELECTOR, sel)
            return els and els[-1].text.strip() == text
        self.wait(ok, f"{sel} to read {text!r}", timeout)

    def click(self, sel):
        el = self.css(sel)
        self.wait(lambda d: el.is_enabled(), f"{sel} to be enabled")
        el.click()
        return el

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def rpc(self, method, params):
        """A direct JSON-RPC call on the page's own connection."""
        r = self.d.execute_async_script(
            "const [m, p, done] = arguments;"
            "window.minions.rpc.request(m, p).then((r) => done({ok: r}), (e) => done({err: {code: e.code, message: e.message}}));",
            method, params)
        if "err" in r:
            raise Failure(f"{method} failed: {r['err']}")
        return r["ok"]

    def goto(self, page, ready_sel):
        self.js("location.hash = arguments[0]", f"#/{page}")
        self.css(f'section.page[data-page="{page}"]', f"the {page} page")
        return self.css(ready_sel, f"{ready_sel} on the {page} page")

    def reload(self):
        """Reloads the page and waits for the new document (refresh() may return before it is there)."""
        self.js("window.__old_document = true")
        self.d.refresh()
        self.wait(lambda d: d.execute_script("return !window.__old_document && document.readyState === 'complete'"), "the reloaded page")

    def shot(self, name, top=True):
        os.makedirs(SHOTS, exist_ok=True)
        if top:
            self.js("window.scrollTo(0, 0); document.querySelectorAll('.toast').forEach((t) => t.remove())")
        path = os.path.join(SHOTS, f"{name}.png")
        self.d.save_screenshot(path)
        return path

    def drain_console(self):
        try:
            self.console.extend(self.d.get_log("browser"))
        except WebDriverException:
            pass

    def wait_download(self, suffix, contains, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in os.listdir(self.downloads):
                if f.endswith(suffix):
                    with open(os.path.join(self.downloads, f), encoding="utf-8", errors="replace") as fh:
                        text = fh.read()
                    if contains in text:
                        return f
            time.sleep(0.1)
        raise Failure(f"no downloaded *{suffix} containing {contains!r} within {timeout} s (got {os.listdir(self.downloads)})")

    def quit(self):
        try:
            self.d.quit()
        except Exception:
            pass


# ---- the scenario -------------------------------------------------------------------------------

def login(b, username=ADMIN, password=PASSWORD):
    b.css("#login-form", "the login form")
    u = b.css('#login-form input[name="username"]')
    u.clear()
    u.send_keys(username)
    p = b.css('#login-form input[name="password"]')
    p.clear()
    p.send_keys(password + Keys.ENTER)  # Enter submits: the form works from the keyboard
    b.css("#nav-list a.nav-link", "the navigation after login", timeout=15)


def scenario(b, srv, tmp):
    hello = os.path.join(tmp, "hello-script.json")
    tools = os.path.join(tmp, "tool-script.json")
    with open(hello, "w") as f:
        json.dump(HELLO_SCRIPT, f)
    with open(tools, "w") as f:
        json.dump(TOOL_SCRIPT, f)
    slow = os.path.join(tmp, "slow-script.json")
    with open(slow, "w") as f:
        json.dump(SLOW_SCRIPT, f)

    # -- login --
    b.d.get(srv.base + "/")
    b.css("#login-form")
    b.shot("login")
    # a wrong password is refused with a readable message
    b.css('#login-form input[name="username"]').send_keys(ADMIN)
    b.css('#login-form input[name="password"]').send_keys("wrong password" + Keys.ENTER)
    b.wait(lambda d: "Invalid username or password" in d.find_element(By.ID, "login-form").text, "the login error")
    login(b)
    token_in = b.js("return {session: !!sessionStorage.getItem('minions.token'), local: JSON.stringify(localStorage), url: location.href}")
    if not token_in["session"] or "eyJ" in token_in["local"] or "eyJ" in token_in["url"]:
        raise Failure(f"the token must live in sessionStorage only: {token_in}")
    nav = [a.get_attribute("data-page") for a in b.d.find_elements(By.CSS_SELECTOR, "#nav-list a.nav-link")]
    if nav != ["chat", "analytics", "performance", "models", "tools", "security", "settings"]:
        raise Failure(f"an admin should see every page, got {nav}")
    log("logged in; pages " + ", ".join(nav))

    # record every notification the page receives
    b.js("window.__notes = []; window.minions.rpc.addEventListener('notification', (e) => window.__notes.push({m: e.detail.method, p: e.detail.params, t: Date.now()}));")

    # -- models: register the script model through the form --
    b.goto("models", "#models-table table")
    # a bad script path: the engine's -32602 names the field, and the form points at it
    b.css('#register-form input[name="name"]').send_keys("dash")
    Select(b.css('#register-form select[name="provider"]')).select_by_value("script")
    b.css('#register-form input[name="script"]').send_keys(os.path.join(tmp, "missing.json"))
    b.click("#register-submit")
    b.css("#register-form .form-error", "the register form's error")
    b.css('#register-form input[name="script"][aria-invalid="true"]', "the script field marked invalid")
    b.css('#register-form input[name="script"]').clear()
    b.css('#register-form input[name="script"]').send_keys(hello)
    b.click("#register-submit")
    b.css('#models-table tr[data-model="dash"]', "the registered model in the table")
    if b.d.find_elements(By.CSS_SELECTOR, "#register-form [aria-invalid], #register-form .form-error"):
        raise Failure("the register form still shows the earlier error after a successful registration")
    # models/select panel
    b.css("#select-task").send_keys("write a python function")
    b.click("#select-submit")
    b.wait(lambda d: d.find_element(By.ID, "select-pick").text.strip() != "", "a models/select pick")
    if not b.d.find_elements(By.CSS_SELECTOR, "#select-result .reasons li"):
        raise Failure("models/select showed no reasons")
    b.shot("models")
    log("registered model dash; models/select picked " + b.d.find_element(By.ID, "select-pick").text)
    # the tool-using model, by a direct RPC on the page's connection
    b.rpc("models/register", {"name": "dash-tools", "provider": "script", "capabilities": ["text_generation", "tool_use"], "script": tools})
    b.rpc("models/register", {"name": "slow", "provider": "script", "capabilities": ["text_generation"], "script": slow})

    # -- chat: streamed answer --
    b.goto("chat", "#chat-message")
    b.wait(lambda d: any(o.get_attribute("value") == "dash" for o in d.find_elements(By.CSS_SELECTOR, "#model-picker option")), "dash in the model picker")
    Select(b.css("#model-picker")).select_by_value("dash")
    Select(b.css("#agent-picker")).select_by_value("assistant")
    b.css("#chat-message").send_keys("Hi dashboard, say hello")
    b.click("#chat-send")
    b.text_is('.msg-assistant[data-done="true"] .msg-text', "Hello from the dashboard.")
    tokens = b.js("return window.__notes.filter((n) => n.m === 'agent/update' && n.p.kind === 'token').map((n) => n.p.text).join('')")
    if tokens != "Hello from the dashboard.":
        raise Failure(f"the streamed agent/update tokens were {tokens!r}")
    b.css('#session-list .session-item[aria-current="true"]', "the new session in the list")
    if "#/chat/s_" not in b.d.current_url:
        raise Failure(f"the session id should be in the hash: {b.d.current_url}")
    log("chat answered: streamed tokens joined = " + repr(tokens))
    # export as a download
    b.click("#export-md")
    b.wait_download(".md", "Hello from the dashboard.")
    # search
    search = b.css("#session-search")
    search.send_keys("dashboard" + Keys.ENTER)
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#session-list .session-snippet mark"), "a sessions/search hit with a marked word")
    b.shot("chat")

    # -- chat: a tool call that needs approval --
    b.click("#new-chat")
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#model-picker option[value="dash-tools"]'), "dash-tools in the model picker")
    Select(b.css("#model-picker")).select_by_value("dash-tools")
    b.css("#chat-message").send_keys("please write a note")
    b.click("#chat-send")
    dlg = b.css("dialog.approval-dialog", "the approval dialog")
    if "note.txt" not in dlg.text or "file_operations" not in dlg.text:
        raise Failure(f"the approval dialog should show the tool and its arguments: {dlg.text!r}")
    active_in = b.js("return document.querySelector('dialog.approval-dialog').contains(document.activeElement)")
    if not active_in:
        raise Failure("focus should be inside the approval dialog")
    b.shot("approval")
    dlg.find_element(By.CSS_SELECTOR, 'button[data-value="allow_once"]').click()
    b.text_is('.msg-assistant[data-done="true"] .msg-text', "I wrote note.txt.")
    b.css('.msg-assistant .tool-call[data-call]', "the tool call inline")
    if not os.path.exists(os.path.join(srv.workspace, "note.txt")):
        raise Failure("the approved write did not happen")
    log("approval dialog answered; the tool ran")

    # -- chat: cancel a running turn (agent/cancel) --
    b.click("#new-chat")
    Select(b.css("#model-picker")).select_by_value("slow")
    b.css("#chat-message").send_keys("tell me a story" + Keys.ENTER)  # Enter sends
    b.text_is(".msg-assistant.streaming .msg-text", "Once")
    b.click("#chat-cancel")
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '.msg-assistant[data-stop-reason="cancelled"]'), "the turn to stop as cancelled", timeout=5)
    log("a running turn was cancelled")

    # -- analytics --
    b.goto("analytics", 'figure[data-chart="usage-by-model"] svg')
    b.wait(lambda d: "dash" in d.find_element(By.CSS_SELECTOR, 'figure[data-chart="usage-by-model"]').text, "dash in the by-model chart")
    for sel in ('figure[data-chart="usage-activity"]', 'figure[data-chart="usage-tokens"]', 'figure[data-chart="usage-by-agent"]',
                'figure[data-chart="usage-by-user"]', '#analytics-summary .stat[data-stat="chats"]'):
        b.css(sel)
    b.d.find_element(By.ID, "period-30").click()
    b.wait(lambda d: d.find_element(By.ID, "period-30").is_selected(), "the 30-day period")
    b.css('figure[data-chart="usage-by-model"] svg rect.bar', "bars for 30 days")
    b.click("#csv-download")
    b.wait_download(".csv", "# byModel")
    b.shot("analytics")
    log("analytics: charts and CSV ok")

    # -- performance: live metrics, unsubscribed when leaving --
    b.goto("performance", "#perf-cards .stat")
    b.wait(lambda d: d.find_element(By.ID, "perf-live").get_attribute("data-state") == "on", "a live metrics/update")
    b.wait(lambda d: len(d.execute_script("return window.__notes.filter((n) => n.m === 'metrics/update')")) >= 2, "two metrics/update notifications", timeout=5)
    b.css('figure[data-chart="perf-cpu"] path.line', "the CPU line")
    b.css('figure[data-chart="perf-rate"] path.line', "the request rate line")
    b.css('figure[data-chart="perf-latency"] path.line', "the latency line")
    b.css("#alerts-list li", "the alerts list")
    # the connection drops: the client reconnects, resumes the login with its token and subscribes again
    b.js("window.minions.rpc.ws.close()")
    b.wait(lambda d: d.execute_script("return document.querySelector('section.page[data-page=\"performance\"]')?.dataset.subscriptions") == "2",
           "a new metrics subscription after a reconnect")
    b.css('#conn-status[data-state="ready"]', "the connection to be ready again", visible=False)
    b.wait(lambda d: d.execute_script("return window.__notes.filter((n) => n.m === 'metrics/update' && n.p.subscriptionId === document.querySelector('section.page').dataset.subscription).length") >= 1,
           "metrics/update on the new subscription")
    b.shot("performance")
    b.goto("models", "#models-table table")
    b.js("window.__leftPerf = Date.now()")
    time.sleep(2.5)
    late = b.js("return window.__notes.filter((n) => n.m === 'metrics/update' && n.t > window.__leftPerf + 300).length")
    if late:
        raise Failure(f"{late} metrics/update notification(s) arrived after leaving the Performance page: it must unsubscribe")
    log("performance: live updates, unsubscribed on leave")

    # -- tools: run one from its generated form --
    b.goto("tools", '#tools-table tr[data-tool="file_operations"]')
    Select(b.css("#run-tool")).select_by_value("file_operations")
    Select(b.css('#run-fields select[name="operation"]')).select_by_visible_text("list")
    b.css('#run-fields input[name="path"]').send_keys(".")
    b.click("#run-submit")
    b.wait(lambda d: "note.txt" in d.find_element(By.ID, "run-text").text if d.find_elements(By.ID, "run-text") else False, "the tool's output")
    b.shot("tools")
    log("tools: file_operations list ran")

    # -- security: users, API key shown once (closed with Escape), audit --
    b.goto("security", f'#users-table tr[data-user="{ADMIN}"]')
    f = b.css("#create-user-form")
    f.find_element(By.NAME, "username").send_keys("bob")
    f.find_element(By.NAME, "password").send_keys("bobs password")
    Select(f.find_element(By.NAME, "role")).select_by_value("viewer")
    f.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    b.css('#users-table tr[data-user="bob"]', "the new user bob")
    k = b.css("#create-key-form")
    k.find_element(By.NAME, "name").send_keys("ci key")
    k.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    key_el = b.css("#new-api-key", "the new API key dialog")
    if not key_el.get_attribute("value").startswith("mk_"):
        raise Failure("the new API key should be shown once (mk_…)")
    # Tab stays inside the modal dialog, Escape closes it
    for _ in range(4):
        ActionChains(b.d).send_keys(Keys.TAB).perform()
    if not b.js("return !!document.activeElement.closest('dialog[open]')"):
        raise Failure("Tab moved focus out of the open dialog")
    ActionChains(b.d).send_keys(Keys.ESCAPE).perform()
    b.wait(lambda d: not d.find_elements(By.ID, "new-api-key"), "Escape to close the dialog")
    b.wait(lambda d: "ci key" in d.find_element(By.ID, "keys-table").text, "the key in the list")
    b.css("#audit-table tbody tr", "audit entries")
    b.wait(lambda d: "auth.login" in d.find_element(By.ID, "audit-table").text, "auth.login in the audit log")
    b.shot("security")
    log("security: user created, key shown once, audit listed")

    # -- settings: theme remembered --
    b.goto("settings", "#prefs-form")
    before = b.js("return document.documentElement.dataset.theme")
    if before != "light":
        raise Failure(f"the headless browser's system theme should resolve to light, got {before}")
    b.shot("settings")
    Select(b.css("#pref-theme")).select_by_value("dark")
    b.click("#prefs-save")
    b.wait(lambda d: d.execute_script("return document.documentElement.dataset.theme") == "dark", "data-theme=dark after saving")
    b.shot("settings-dark")
    b.reload()  # the stored token resumes the login; the preference comes from the engine
    b.css("#nav-list a.nav-link", "the navigation after reload", timeout=15)
    b.wait(lambda d: d.execute_script("return document.documentElement.dataset.theme") == "dark", "data-theme=dark after reload")
    # a stored session re-read with sessions/get shows its tool call and result inline
    b.goto("chat", "#session-list .session-item")
    b.wait(lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#session-list .session-item") if "please write a note" in e.text], "the approval session in the list")
    [e for e in b.d.find_elements(By.CSS_SELECTOR, "#session-list .session-item") if "please write a note" in e.text][0].click()
    b.css(".msg-assistant .tool-call .tool-result", "the stored tool call with its result", visible=False)
    b.text_is(".msg-assistant .msg-text", "I wrote note.txt.")
    b.js("document.querySelectorAll('.tool-call').forEach((d) => d.open = true)")
    b.shot("chat-dark")
    b.click("#logout")
    b.css("#login-form", "the login form after logout")
    b.wait(lambda d: d.execute_script("return document.documentElement.dataset.theme") == "light", "the system theme after logout")
    if b.js("return sessionStorage.getItem('minions.token')"):
        raise Failure("logout must drop the token")
    login(b)
    b.wait(lambda d: d.execute_script("return document.documentElement.dataset.theme") == "dark", "data-theme=dark after logging in again")
    b.goto("settings", "#pref-theme")
    Select(b.css("#pref-theme")).select_by_value("high-contrast")
    b.click("#prefs-save")
    b.wait(lambda d: d.execute_script("return document.documentElement.dataset.theme") == "high-contrast", "data-theme=high-contrast")
    b.goto("analytics", 'figure[data-chart="usage-by-model"] svg')
    b.shot("analytics-high-contrast")
    log("theme: dark saved, kept after reload and after a new login; high contrast applied")

    # -- a narrow window: the navigation collapses behind a menu button --
    b.viewport(600, 900)
    toggle = b.css("#nav-toggle", "the menu button in a narrow window")
    if b.d.find_element(By.ID, "nav").is_displayed():
        raise Failure("the navigation should be collapsed in a narrow window")
    toggle.click()
    b.css("#nav a.nav-link", "the opened menu")
    if toggle.get_attribute("aria-expanded") != "true":
        raise Failure("the menu button should say aria-expanded=true")
    b.shot("narrow-menu")
    b.d.find_element(By.CSS_SELECTOR, '#nav a[data-page="chat"]').click()
    b.css("#chat-message")
    b.shot("narrow-chat")
    b.viewport(1280, 800)

    # -- a viewer sees only what their role allows --
    b.click("#logout")
    login(b, "bob", "bobs password")
    nav = [a.get_attribute("data-page") for a in b.d.find_elements(By.CSS_SELECTOR, "#nav-list a.nav-link")]
    if nav != ["analytics", "performance", "models", "tools", "settings"]:
        raise Failure(f"a viewer should see analytics, performance, models, tools and settings only, got {nav}")
    b.js("location.hash = '#/security'")
    b.wait(lambda d: "#/analytics" in d.current_url, "the forbidden page to fall back to analytics")
    log("viewer sees " + ", ".join(nav))

    # -- the viewer changes their password; a reload still resumes the login --
    b.goto("settings", "#password-form")
    pf = b.css("#password-form")
    pf.find_element(By.NAME, "oldPassword").send_keys("bobs password")
    pf.find_element(By.NAME, "newPassword").send_keys("bobs new password")
    pf.find_element(By.NAME, "confirm").send_keys("bobs new password")
    pf.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    b.wait(lambda d: d.find_element(By.NAME, "oldPassword").get_attribute("value") == "" and "Password changed" in d.find_element(By.ID, "toasts").text,
           "the password change", timeout=15)
    b.reload()
    b.css("#nav-list a.nav-link", "the navigation after reload", timeout=15)
    if "bob" not in b.d.find_element(By.ID, "who").text:
        raise Failure("after the password change and a reload the viewer should still be logged in")
    log("password changed; the login survives a reload")


def check_console(b):
    b.drain_console()
    bad = []
    for e in b.console:
        msg = e.get("message", "")
        if e.get("level") == "SEVERE" or "Content Security Policy" in msg or "Refused to" in msg:
            bad.append(f"{e.get('level')}: {msg}")
    if bad:
        raise Failure("the browser console has errors:\n  " + "\n  ".join(bad))


def main():
    tmp = tempfile.mkdtemp(prefix="minions-web-")
    downloads = os.path.join(tmp, "downloads")
    os.makedirs(downloads)
    srv = Server(tmp)
    b = None
    ok = False
    try:
        if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
            raise Failure(f"no engine binary at {BIN}: build it, or set MINIONS_BIN")
        srv.add_admin()
        srv.start()
        check_http(srv.base)
        b = Browser(downloads)
        scenario(b, srv, tmp)
        check_console(b)
        if time.monotonic() - T0 > TOTAL_BUDGET_S:
            raise Failure(f"the test took {time.monotonic() - T0:.0f} s, over its {TOTAL_BUDGET_S} s budget")
        ok = True
    except Failure as e:
        print(f"\nFAIL: {e}", file=sys.stderr)
    except Exception:
        print("\nFAIL: unexpected error", file=sys.stderr)
        traceback.print_exc()
    finally:
        if b is not None:
            if not ok:
                try:
                    print(f"  screenshot of the failure: {b.shot('failure')}", file=sys.stderr)
                    b.drain_console()
                    for e in b.console[-15:]:
                        print(f"  console {e.get('level')}: {e.get('message')}", file=sys.stderr)
                except Exception:
                    pass
            b.quit()
        srv.stop()
        if not ok and srv.stderr_lines:
            print("  server stderr (last lines):\n    " + "\n    ".join(srv.stderr_lines[-15:]), file=sys.stderr)
        if os.environ.get("MINIONS_TEST_KEEP"):
            print(f"  kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    took = time.monotonic() - T0
    if ok:
        print(f"\nPASS: dashboard end-to-end in {took:.1f} s; screenshots in {SHOTS}")
        print("1 passed, 0 failed")
        return 0
    print("0 passed, 1 failed")
    return 1


if __name__ == "__main__":
    sys.exit(main())
