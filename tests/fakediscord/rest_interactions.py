"""Interaction callbacks, webhook follow-ups / ``@original`` and the attachment CDN.

Discord semantics modelled here (and relied upon by discord.py 2.7):

* ``POST /interactions/{id}/{token}/callback?with_response=1`` answers ``{"interaction": {...},
  "resource": {...}}``; ``resource.message`` is the created/updated message for types 4, 5 and 7, and
  ``interaction.response_message_id`` is what discord.py stores views against.
* A second callback is ``400 / 40060 Interaction has already been acknowledged``.
* Follow-ups before the callback are ``404 / 10015 Unknown Webhook``.
* After a type-5 defer, the first follow-up *replaces* the "thinking" message and inherits its
  ephemeral flag, exactly like Discord.
"""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING

from aiohttp import web

from .middleware import API_PREFIX, ApiError, json_response, no_content
from .payloads import FLAG_EPHEMERAL, FLAG_LOADING, JSON
from .records import CallbackRecord, InteractionRecord, running_handler_tasks
from .rest import record_of
from .validate import validate_choices, validate_message, validate_modal

if TYPE_CHECKING:
    from .server import FakeDiscord

#: Interaction type -> callback types Discord accepts.
_ALLOWED = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
_TRUE = ("1", "true", "True")


class InteractionApi:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def routes(self) -> list[web.RouteDef]:
        hook = API_PREFIX + "/webhooks/{application_id}/{token}"
        return [
            web.post(API_PREFIX + "/interactions/{interaction_id}/{token}/callback", self.callback),
            web.post(hook, self.followup),
            web.get(hook + "/messages/{message_id}", self.get_message),
            web.patch(hook + "/messages/{message_id}", self.edit_message),
            web.delete(hook + "/messages/{message_id}", self.delete_message),
            web.get("/attachments/{path:.*}", self.cdn),
        ]

    # -- helpers ---------------------------------------------------------------------------------
    def _metadata(self, rec: InteractionRecord) -> JSON:
        meta: JSON = {
            "id": str(rec.id),
            "type": rec.kind,
            "user": self.fake.users[rec.user_id],
            "authorizing_integration_owners": rec.payload.get("authorizing_integration_owners", {}),
        }
        if rec.kind == 2:
            meta["name"] = rec.payload["data"]["name"]
        if rec.source_message_id is not None:
            meta["interacted_message_id"] = str(rec.source_message_id)
        return meta

    def _publish(self, message: JSON, event: str) -> None:
        if not int(message.get("flags") or 0) & FLAG_EPHEMERAL:
            self.fake.dispatch_nowait(event, message)

    def _by_token(self, request: web.Request) -> InteractionRecord:
        rec = self.fake.interaction_by_token(request.match_info["token"])
        if rec is None or request.match_info["application_id"] != str(self.fake.application_id):
            raise ApiError(404, 10015, "Unknown Webhook")
        if self.fake.now() - rec.created > self.fake.token_lifetime:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return rec

    def _message_id(self, rec: InteractionRecord, request: web.Request) -> int:
        raw = request.match_info["message_id"]
        message_id = rec.original_message_id if raw == "@original" else int(raw)
        owned = {rec.original_message_id, *rec.followup_ids}
        if message_id is None or message_id not in owned or self.fake.find_message(message_id) is None:
            raise ApiError(404, 10008, "Unknown Message")
        return message_id

    # -- callback --------------------------------------------------------------------------------------
    async def callback(self, request: web.Request) -> web.Response:
        record = record_of(request)
        fake = self.fake
        rec = fake.interaction_by_id(int(request.match_info["interaction_id"]))
        if rec is None or rec.token != request.match_info["token"] or rec.failed is not None:
            raise ApiError(404, 10062, "Unknown interaction")
        if rec.callback is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = record.json if isinstance(record.json, dict) else {}
        kind = int(body.get("type", 0))
        data: JSON = body.get("data") or {}
        if kind not in _ALLOWED[rec.kind] or (kind in (6, 7) and rec.source_message_id is None):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": f"Invalid interaction response type {kind}",
                            }
                        ]
                    }
                },
            )
        message: JSON | None = None
        msg_type = 20 if rec.kind == 2 else 0
        if kind == 4:
            validate_message(data, record.files)
            message = fake.create_message(
                rec.channel_id,
                fake.bot_user_id,
                data,
                record.files,
                msg_type=msg_type,
                interaction=self._metadata(rec),
            )
            rec.original_message_id = int(message["id"])
            self._publish(message, "MESSAGE_CREATE")
        elif kind == 5:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = fake.create_message(
                rec.channel_id,
                fake.bot_user_id,
                {"content": "", "flags": flags},
                msg_type=msg_type,
                interaction=self._metadata(rec),
            )
            rec.original_message_id = int(message["id"])
            self._publish(message, "MESSAGE_CREATE")
        elif kind in (6, 7):
            rec.original_message_id = rec.source_message_id
            if kind == 6:
                rec.handler_tasks = running_handler_tasks()
                for task in rec.handler_tasks:
                    task.add_done_callback(lambda _task: fake.signal.notify())
            if kind == 7 and rec.source_message_id is not None:
                validate_message(data, record.files, edit=True)
                message = fake.edit_message(rec.source_message_id, data, record.files)
                self._publish(message, "MESSAGE_UPDATE")
        elif kind == 8:
            validate_choices(data)
        elif kind == 9:
            validate_modal(data)
        rec.callback = CallbackRecord(kind, data, record.files, record)
        rec.files.extend(record.files)
        fake.signal.notify()
        if request.query.get("with_response") not in _TRUE:
            return no_content()
        ephemeral = bool(message and int(message["flags"]) & FLAG_EPHEMERAL)
        response: JSON = {
            "interaction": {
                "id": str(rec.id),
                "type": rec.kind,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": ephemeral,
            }
        }
        if message is not None:
            response["interaction"]["response_message_id"] = message["id"]
            response["resource"] = {"type": kind, "message": message}
        elif kind in (6, 7):
            response["resource"] = {"type": kind}
        return json_response(response)

    # -- follow-ups ---------------------------------------------------------------------------------
    async def followup(self, request: web.Request) -> web.Response:
        record = record_of(request)
        fake = self.fake
        rec = self._by_token(request)
        if rec.callback is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        body = validate_message(record.json, record.files)
        original = rec.message
        if rec.callback.type == 5 and original is not None and int(original["flags"]) & FLAG_LOADING:
            # The first follow-up after a defer replaces the "thinking" message (keeps its ephemerality).
            message = fake.edit_message(
                int(original["id"]), {k: v for k, v in body.items() if k != "flags"}, record.files
            )
            message["flags"] = int(message["flags"]) & ~FLAG_LOADING
            message["edited_timestamp"] = None
            self._publish(message, "MESSAGE_UPDATE")
        else:
            message = fake.create_message(
                rec.channel_id, fake.bot_user_id, body, record.files, interaction=self._metadata(rec)
            )
            self._publish(message, "MESSAGE_CREATE")
        rec.followup_ids.append(int(message["id"]))
        rec.followup_payloads.append(body)
        rec.files.extend(record.files)
        fake.signal.notify()
        if request.query.get("wait") in _TRUE:
            return json_response(message)
        return no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        rec = self._by_token(request)
        return json_response(self.fake.find_message(self._message_id(rec, request)))

    async def edit_message(self, request: web.Request) -> web.Response:
        record = record_of(request)
        rec = self._by_token(request)
        message_id = self._message_id(rec, request)
        body = validate_message(record.json, record.files, edit=True)
        message = self.fake.edit_message(message_id, body, record.files)
        if int(message["flags"]) & FLAG_LOADING:
            message["flags"] = int(message["flags"]) & ~FLAG_LOADING
        if message_id == rec.original_message_id:
            rec.edits.append(body)
        rec.files.extend(record.files)
        self._publish(message, "MESSAGE_UPDATE")
        self.fake.signal.notify()
        return json_response(message)

    async def delete_message(self, request: web.Request) -> web.Response:
        rec = self._by_token(request)
        message_id = self._message_id(rec, request)
        message = self.fake.delete_message(message_id)
        if message_id == rec.original_message_id:
            rec.original_deleted = True
        if message is not None and not int(message["flags"]) & FLAG_EPHEMERAL:
            self.fake.dispatch_message_delete(message)
        self.fake.signal.notify()
        return no_content()

    # -- CDN ----------------------------------------------------------------------------------------------
    async def cdn(self, request: web.Request) -> web.Response:
        path = "/attachments/" + request.match_info["path"]
        content = self.fake.cdn.get(path)
        if content is None:
            raise web.HTTPNotFound()
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return web.Response(body=content, headers={"Content-Type": content_type})
