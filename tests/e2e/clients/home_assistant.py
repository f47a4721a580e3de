"""Drives a running Home Assistant as a user would, over its REST and websocket APIs: onboards
a user, sets up the MQTT, HomeWizard and DSMR integrations through their config flows (against
p1-mqtt's broker, p1-serve's API and p1-serve's raw telegram stream), waits until their
entities have values, and prints every enabled entity of them as JSON (its platform, unique
id, state and unit).

    home_assistant.py HA_URL BROKER_PORT SERVE_HOST:PORT RAW_PORT WANT_ENTITIES
"""
import asyncio
import json
import sys
import time

import aiohttp

PLATFORMS = ("mqtt", "homewizard", "dsmr")


async def onboard(session, url):
    client_id = url + "/"
    async with session.post(url + "/api/onboarding/users", json={
        "client_id": client_id, "name": "p1", "username": "p1",
        "password": "p1-test-password", "language": "en",
    }) as response:
        response.raise_for_status()
        code = (await response.json())["auth_code"]
    async with session.post(url + "/auth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": client_id,
    }) as response:
        response.raise_for_status()
        return (await response.json())["access_token"]


async def flow(session, url, headers, handler, answers):
    """Runs a config flow to its end, answering each form with the next of `answers`."""
    async with session.post(url + "/api/config/config_entries/flow", headers=headers,
                            json={"handler": handler, "show_advanced_options": False}) as r:
        r.raise_for_status()
        step = await r.json()
    for answer in answers:
        if step.get("type") != "form":
            break
        async with session.post(url + f"/api/config/config_entries/flow/{step['flow_id']}",
                                headers=headers, json=answer) as r:
            text = await r.text()
            if r.status != 200:
                raise SystemExit(f"{handler}: {r.status} {text}")
            step = json.loads(text)
    if step.get("type") != "create_entry":
        raise SystemExit(f"{handler}: the flow ended with {json.dumps(step)}")


async def registry(session, url, token):
    async with session.ws_connect(url + "/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise SystemExit("websocket: not authenticated")
        await ws.send_json({"id": 1, "type": "config/entity_registry/list"})
        while True:
            message = await ws.receive_json()
            if message.get("id") == 1:
                return message["result"]


async def main(url, broker_port, serve, raw_port, want):
    async with aiohttp.ClientSession() as session:
        token = await onboard(session, url)
        headers = {"Authorization": f"Bearer {token}"}
        await flow(session, url, headers, "mqtt", [{"broker": "127.0.0.1", "port": broker_port}])
        await flow(session, url, headers, "homewizard", [{"ip_address": serve}])
        await flow(session, url, headers, "dsmr", [
            {"type": "Network"},
            {"host": "127.0.0.1", "port": raw_port, "dsmr_version": "5B"},
        ])
        deadline = time.monotonic() + 90
        while True:
            entries = [e for e in await registry(session, url, token)
                       if e["platform"] in PLATFORMS and not e.get("disabled_by")]
            async with session.get(url + "/api/states", headers=headers) as r:
                states = {s["entity_id"]: s for s in await r.json()}
            rows = []
            for e in entries:
                s = states.get(e["entity_id"])
                rows.append({
                    "entity_id": e["entity_id"], "platform": e["platform"],
                    "unique_id": e["unique_id"],
                    "state": s["state"] if s else None,
                    "unit": (s or {}).get("attributes", {}).get("unit_of_measurement"),
                })
            # A button has no state until pressed.
            waiting = [r for r in rows if r["state"] in (None, "unknown", "unavailable")
                       and not r["entity_id"].startswith("button.")]
            if len(rows) >= want and not waiting or time.monotonic() > deadline:
                print(json.dumps(rows))
                return
            await asyncio.sleep(1)


asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
