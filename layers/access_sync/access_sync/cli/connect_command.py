"""`access-sync connect gusto`: obtains the first Gusto refresh token for the user's own app, and stores it.

Asks for the app's client id and secret (the secret without echo) unless given, runs the authorization-code
flow through a loopback redirect, stores the credentials (docs/secrets.md) in the file or secret named on the
command line, then checks the new connection as `access-sync check gusto` does: which company, which
scopes. Tokens and the client secret are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import webbrowser

from pydantic import SecretStr

from access_sync.cli.check_command import check_connection
from access_sync.cli.output import require_output
from access_sync.connectors.gusto.authorize import CallbackListener, authorize_url, exchange_code, new_state
from access_sync.connectors.gusto.tokens import base_url_for
from access_sync.errors import ConfigurationError
from access_sync.wiring.connections import checked_base_url, open_secret_store
from access_sync.wiring.registry import connector_spec


def _ask(given: str | None, what: str, flag: str, *, hidden: bool = False) -> str:
    if given:
        return given
    prompt = f"Gusto app {what}: "
    try:
        answer = getpass.getpass(prompt) if hidden else input(prompt)
    except EOFError:  # no terminal to ask on
        answer = ""
    if not answer.strip():
        raise ConfigurationError(f"The Gusto app's {what} is missing: pass {flag} or type it when asked.")
    return answer.strip()


def _open_browser(url: str) -> bool:
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    # A console browser (lynx, w3m) would take over this terminal and cannot run Gusto's sign-in anyway.
    if type(browser) is webbrowser.GenericBrowser:
        return False
    return browser.open(url)


def run_connect_command(args: argparse.Namespace) -> int:
    require_output(args.output, "connect", ("text",))
    base_url = base_url_for(args.environment, checked_base_url(connector_spec("gusto"), args.base_url))
    store = open_secret_store(args.credentials, args.secret_id)
    if store is None:
        raise ConfigurationError("Say where to store the Gusto connection: --credentials FILE or --secret-id ID.")
    client_id = _ask(args.client_id, "client id", "--client-id")
    client_secret = SecretStr(_ask(args.client_secret, "client secret", "--client-secret", hidden=True))
    state = new_state()
    with CallbackListener(args.port, state) as listener:
        url = authorize_url(base_url, client_id, listener.redirect_uri, state)
        print(f"Redirect URI (register it in your Gusto app): {listener.redirect_uri}")
        print(f"Approve access-sync as an admin of the company to sync:\n  {url}")
        if not args.no_browser and _open_browser(url):
            print("Your browser was opened at that link.")
        else:
            print("Open that link in a browser.")
        print(f"Waiting up to {args.timeout:g} s for Gusto's answer (Ctrl-C to stop)…", flush=True)
        code = listener.wait(args.timeout)
        redirect_uri = listener.redirect_uri
    credentials = exchange_code(
        base_url,
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect_uri,
        environment=args.environment,
    )
    # Stored before the new access token is used (docs/secrets.md): the pair is the only proof of this consent.
    store.write(credentials.stored_form())
    print(f"Stored the Gusto connection ({args.environment}) in {store.describe()}.\n")
    return check_connection("gusto", store, args.base_url)
