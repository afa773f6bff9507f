"""Every error the hub shows, with its stable code, in one place.

The tree (modelled on httpx: one root, library errors translated at the boundary with ``raise ... from``)::

    HubError                      code, http status, title, detail (what was wrong), fix (what to do)
    ├── ConfigError               the YAML is wrong; carries every problem found, each with file and line
    ├── RequestError              the client's request is wrong (4xx); nothing was stored
    │   ├── AuthError             401/403: token missing, unknown, or type not granted
    │   └── ConflictError         409/422: idempotency key reused with another body
    ├── NotFoundError             404
    ├── UnavailableError          503: store or bus cannot take the message now (fail closed)
    ├── SigningError              hub.signing.errors: signatures, certificates, checksums, our keys
    │   ├── SignatureError        what we received is not acceptable (signature.*, checksum.*)
    │   ├── KeyUnavailableError   one of our signing keys cannot be used (signature.key_unavailable)
    │   └── SigningConfigError    the signing: section is wrong (config.invalid)
    └── DeliveryError             raised by connectors and transforms, never shown to clients as-is
        ├── TransientError        retry later (network, timeout, 5xx, 429)
        └── PermanentError        dead letter now (4xx, SOAP fault, business refusal, transform failure)

Codes are dotted, lower case and never change meaning once released; tests assert them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Code:
    code: str
    status: int
    title: str
    fix: str


_CODES: dict[str, Code] = {}


def _code(code: str, status: int, title: str, fix: str) -> str:
    if code in _CODES:
        raise RuntimeError(f"error code {code} defined twice")
    _CODES[code] = Code(code, status, title, fix)
    return code


# --- requests from clients ---------------------------------------------------------------
AUTH_MISSING = _code("auth.missing_token", 401, "No access token",
                     "Send 'Authorization: Bearer <token>' with the token issued to your system.")
AUTH_INVALID = _code("auth.invalid_token", 401, "Unknown access token",
                     "Check the token configured in your system; ask the hub administrators for a new one if it was rotated.")
AUTH_FORBIDDEN_TYPE = _code("auth.type_not_granted", 403, "Message type not granted to this client",
                            "Ask the hub administrators to grant this message type to your client in config/hub.yaml.")
REQ_MALFORMED_JSON = _code("request.malformed_json", 400, "Body is not valid JSON",
                           "Send a UTF-8 JSON object with Content-Type: application/json.")
REQ_NOT_OBJECT = _code("request.not_an_object", 400, "Body is not a JSON object",
                       "Send one JSON object: {\"type\": ..., \"payload\": {...}}.")
REQ_TOO_LARGE = _code("request.too_large", 413, "Body too large",
                      "Send a smaller body; large files go as attachments by reference, not inline.")
REQ_BAD_MEDIA = _code("request.unsupported_media_type", 415, "Unsupported content type",
                      "Send Content-Type: application/json.")
MSG_ENVELOPE_INVALID = _code("message.envelope_invalid", 422, "Envelope does not match the canonical schema",
                             "Fix the envelope field named in 'errors' (see schemas/envelope.json).")
MSG_UNKNOWN_TYPE = _code("message.unknown_type", 422, "Unknown message type",
                         "Use one of the message types listed in /v1/openapi.json (schemas/messages/).")
MSG_SCHEMA_INVALID = _code("message.payload_invalid", 422, "Payload does not match its schema",
                           "Fix the payload fields named in 'errors' (see schemas/messages/<type>.json).")
MSG_ID_CONFLICT = _code("message.id_reused", 422, "Message id already used with another body",
                        "Use a new id for a new message; resend the same body to get the original answer.")
MSG_NOT_CALL = _code("message.not_a_call", 422, "Message type is not a call",
                     "Send one-way message types to POST /v1/messages; /v1/calls is for request/reply types.")
MSG_NO_ROUTE = _code("message.no_route", 422, "No route accepts this message",
                     "Ask the hub administrators to add a route for this type (config/routes.yaml).")
NOT_FOUND = _code("request.not_found", 404, "Not found",
                  "Check the id; messages are kept for the retention period of their type.")
METHOD_NOT_ALLOWED = _code("request.method_not_allowed", 405, "Method not allowed",
                           "See /v1/openapi.json for the methods of each path.")
CALL_FAILED = _code("call.failed", 502, "The partner did not give an answer",
                    "See 'cause' for the partner's reason; fix the request, or retry later with a new id.")
STORE_UNAVAILABLE = _code("hub.store_unavailable", 503, "The hub cannot record messages right now",
                          "Retry after the number of seconds in Retry-After with the same id; nothing was accepted.")
BUS_UNAVAILABLE = _code("hub.bus_unavailable", 503, "The hub's bus is unavailable",
                        "Retry after the number of seconds in Retry-After with the same id; it will be accepted once.")
INTERNAL = _code("hub.internal", 500, "Internal error",
                 "Retry with the same id; if it persists, give the message id to the hub's operators.")
STUCK = _code("hub.stuck", 0, "A hub task ran past its time bound and was stopped",
              "Nothing is lost: the delivery is requeued and its lease lets another worker take it. If it repeats, "
              "send the log line with its stack (logger hub.stuck) to the hub's developers.")

# --- configuration -------------------------------------------------------------------------
CONFIG_INVALID = _code("config.invalid", 2, "Configuration is invalid", "Fix each problem listed, then run 'python run.py check'.")

# --- identity checks (resident database, connectors/dancu.py) -----------------------------------
# Refused before the partner is called (422), or the partner's refusal (403/502). Never echo the id or name.
ID_INVALID = _code("identity.invalid_id", 422, "Citizen id is not valid",
                   "Send a 12-digit personal id (valid province code and century/gender digit) or a 9-digit CMND.")
ID_BIRTH_MISMATCH = _code("identity.id_birth_mismatch", 422, "Personal id does not agree with the birth date",
                          "Check the id's century/gender digit and 2-digit year (digits 4-6) against the birth date.")
ID_BAD_NAME = _code("identity.invalid_name", 422, "Full name is missing or not a name",
                    "Send the citizen's full name as printed on the id card (letters and spaces).")
ID_BAD_BIRTH_DATE = _code("identity.invalid_birth_date", 422, "Birth date is missing or not a date",
                          "Send birth_date as YYYY-MM-DD.")
ID_PURPOSE_MISSING = _code("identity.purpose_missing", 422, "Lookup without its purpose",
                           "Send officer_id, procedure_code and dossier_code: Decree 13/2023 allows personal data "
                           "to be read only for a named officer handling a named procedure and dossier.")
ID_PROCEDURE_NOT_LICENSED = _code("identity.procedure_not_licensed", 403, "Procedure not licensed for the resident database",
                                  "The resident database refused (004): ask the provincial LGSP to license this procedure.")
ID_OFFICER_NOT_PERMITTED = _code("identity.officer_not_permitted", 403, "Officer may not query the resident database",
                                 "The resident database refused (005): have the officer's account granted access.")
ID_PARTNER_FAULT = _code("identity.partner_fault", 502, "The resident database answered with a SOAP fault",
                         "See the fault string in the trace; a Client fault means the request must be fixed.")
ID_PARTNER_ERROR = _code("identity.partner_error", 502, "The resident database answered with an error code",
                         "See the partner's code in the trace and its documentation.")
ID_TOKEN_REFUSED = _code("identity.token_refused", 502, "The provincial LGSP refused the hub's credentials",
                         "Check client_id/client_secret and the lgspaccesstoken keys of the dancu connector.")

# --- payments, postal service, SMS (connectors paygov/vnpay/momo, vnpost, viettel_sms/vnpt_sms) ------------
PAY_UNSUPPORTED = _code("payment.unsupported_type", 0, "This connector does not handle that message type",
                        "Route only payment.create to payment connectors (config/routes.yaml).")
PAY_REFERENCE_REUSED = _code("payment.reference_reused", 0, "Payment reference already used for another order",
                             "Use a new reference (at most 20 characters) for each payment order.")
PAY_PROVIDER_REFUSED = _code("payment.provider_refused", 0, "The intermediary refused to open the payment",
                             "Permanent: read the partner's code in the detail, fix the order, then send a new one.")
PAY_ORDER_UNKNOWN = _code("payment.order_unknown", 404, "Callback for an order the hub never created",
                          "The intermediary reported a payment for a reference the hub has no order for; reconcile.")
PAY_AMOUNT_MISMATCH = _code("payment.amount_mismatch", 422, "Callback amount differs from the order",
                            "The amount paid is not the amount ordered; check the order with the intermediary.")
PAY_BAD_CALLBACK = _code("payment.bad_callback", 400, "Callback cannot be read",
                         "The intermediary must send its documented fields (see partners.md section 4).")
PAY_RECONCILE_FAILED = _code("payment.reconcile_unavailable", 0, "The intermediary's transaction list is unavailable",
                             "Retry the reconciliation later; check the connector with 'python run.py check'.")
POSTAL_AUTH = _code("postal.auth_failed", 0, "VNPost refused the hub's credentials",
                    "Check the vnpost connector's username, password and customer code (config/connectors.yaml).")
POSTAL_REFUSED = _code("postal.order_refused", 0, "VNPost refused the order",
                       "Permanent: read VNPost's message in the detail, fix the addresses or service, then replay.")
POSTAL_UNKNOWN_ORDER = _code("postal.order_unknown", 404, "Status for an order the hub never created",
                             "VNPost reported a status for a tracking number the hub does not know.")
SMS_BAD_NUMBER = _code("sms.bad_number", 0, "Not a Vietnamese mobile number",
                       "Send the receiver as 0xxxxxxxxx or 84xxxxxxxxx (10 national digits).")
SMS_REFUSED = _code("sms.refused", 0, "The SMS gateway refused the message",
                    "Permanent: read the gateway's message in the detail (brandname, template, content), then replay.")
SMS_TEMPLATE_UNKNOWN = _code("sms.template_unknown", 0, "No SMS template for this message",
                              "Name an existing template in the route's options (template:) or add it to the SMS "
                              "connector's templates (config/connectors.yaml).")
SMS_TEMPLATE_FIELD = _code("sms.template_field_missing", 0, "The message lacks a field the SMS template uses",
                           "Send the field in the payload or change the template (config/connectors.yaml).")
SMS_TOO_LONG = _code("sms.too_long", 0, "The SMS needs more parts than the connector allows",
                     "Shorten the text or the template, or raise max_segments of the SMS connector.")

# --- deliveries (recorded in traces and dead letters) -------------------------------------
DLV_NETWORK = _code("delivery.network", 0, "Partner unreachable", "Transient: retried with backoff.")
DLV_TIMEOUT = _code("delivery.timeout", 0, "Partner did not answer in time", "Transient: retried with backoff.")
DLV_PARTNER_5XX = _code("delivery.partner_5xx", 0, "Partner server error", "Transient: retried with backoff.")
DLV_THROTTLED = _code("delivery.throttled", 0, "Partner asked us to slow down (429)", "Transient: retried after Retry-After.")
DLV_PARTNER_4XX = _code("delivery.partner_rejected", 0, "Partner refused the request",
                        "Permanent: fix the message or the route, then replay the dead letter.")
DLV_REDIRECTED = _code("delivery.partner_redirected", 0, "Partner answered with a redirect, not followed",
                       "Permanent: point the connector's url at the address in the detail (Location), then replay "
                       "the dead letter. A redirected POST is never followed: it could reach the partner as a GET.")
DLV_BAD_REPLY = _code("delivery.bad_reply", 0, "Partner answered with something we cannot read",
                      "Permanent: check the partner's API version against the connector.")
DLV_TRANSFORM = _code("delivery.transform_failed", 0, "Transform failed",
                      "Permanent: fix the message or the transform, then replay the dead letter.")
DLV_EXHAUSTED = _code("delivery.attempts_exhausted", 0, "Gave up after the route's retry limit",
                      "Fix the partner or the route's retry policy, then replay the dead letter.")
DLV_NO_WEBHOOK = _code("delivery.no_webhook", 0, "No client webhook for this message",
                       "Set webhook.url for the client in config/hub.yaml, or name the client in the route's options.")
DLV_CIRCUIT_OPEN = _code("delivery.circuit_open", 0, "The partner is failing; deliveries are paused",
                         "Nothing to do: the hub probes the partner and resumes by itself; see /healthz.")
DLV_CONNECTOR_BUG = _code("delivery.connector_error", 0, "The connector failed unexpectedly",
                          "Transient: retried; if it persists, report the trace to the hub's developers.")
DLV_SIGN = _code("delivery.sign_failed", 0, "Signing failed",
                 "Permanent: check the signing key named in the route (python run.py keys), then replay.")
DLV_VERIFY = _code("delivery.verify_failed", 0, "The signed document in the message did not verify",
                   "Permanent, never forwarded: the reason names the signature code; ask the sender for a "
                   "correctly signed document, or fix the route's trust store (python run.py keys), then replay.")
DLV_VALIDATE = _code("delivery.validation_failed", 0, "The partner payload failed its schema",
                     "Permanent: fix the message or the transform, then replay the dead letter.")
DLV_ROUTE_GONE = _code("delivery.route_removed", 0, "The route no longer exists in the configuration",
                       "Restore the route (config/routes.yaml) and replay, or leave the dead letter.")
DLV_NO_CONNECTOR = _code("delivery.no_connector", 0, "Connector not configured on this hub",
                         "Add the connector to config/connectors.yaml or fix the route, then replay.")

# --- national portal DVCQG and procedure catalogue (connectors/dvcqg.py, transforms/check_procedure.py) ----------
DVCQG_SESSION = _code("dvcqg.invalid_session", 0, "The portal refused the session twice in a row",
                      "Transient: retried; if it persists check the portal's session service and the clock.")
DVCQG_LOGIN = _code("dvcqg.login_refused", 0, "The portal refused the hub's credentials",
                    "Permanent: set the DVCQG username/password (connectors.yaml, ${env:...}) and replay.")
DVCQG_ROUTING = _code("dvcqg.missing_dstcode", 0, "The portal wants the dstcode routing header",
                      "Permanent: set 'dstcode' for the dvcqg connector in config/connectors.yaml, then replay.")
DVCQG_SERVICE = _code("dvcqg.unknown_service", 0, "The portal does not know the service called",
                      "Permanent: check the portal's API version against connectors/dvcqg.py.")
DVCQG_INVALID = _code("dvcqg.invalid_data", 0, "The portal refused a field (required, date format, status)",
                      "Permanent: fix the field named in the detail at the one-stop system, then resend or replay.")
DVCQG_EXISTS = _code("dvcqg.dossier_exists", 0, "The portal already has this dossier",
                     "Permanent: the connector re-sends as an update; seen here only if the portal contradicts itself.")
DVCQG_NOT_FOUND = _code("dvcqg.dossier_not_found", 0, "The portal does not know this dossier",
                        "Permanent: sync the dossier (dossier.sync) before its steps or evaluations, then replay.")
DVCQG_TRANSITION = _code("dvcqg.status_transition", 0, "The portal refused an impossible status change",
                         "Permanent: the one-stop system sent a status that cannot follow the portal's (e.g. 10 -> 4); "
                         "correct the dossier at the one-stop system.")
DVCQG_PROCEDURE_NOT_FOUND = _code("dvcqg.procedure_not_found", 0, "The procedure database does not know the code",
                                  "Permanent: check the procedure code against the national catalogue.")
DVCQG_BUSY = _code("dvcqg.busy", 0, "The portal is busy or failed internally", "Transient: retried with backoff.")
DVCQG_UNKNOWN = _code("dvcqg.unknown_error", 0, "The portal answered with an error code the hub does not know",
                      "Permanent: give the code in the detail to the hub's developers to map it, then replay.")
DVCQG_PAYMENT_EARLY = _code("dvcqg.payment_before_dossier", 0, "A payment came for a dossier the portal does not have yet",
                            "Transient: retried until the dossier's first dossier.sync reaches the portal; if it "
                            "dead-letters, sync the dossier and replay the payment.completed delivery.")
PROC_CATALOGUE_EMPTY = _code("procedure.catalogue_empty", 0, "The procedure catalogue has not been synced yet",
                             "Transient: run 'python run.py procedures sync' (the scheduler also syncs it).")
PROC_UNKNOWN = _code("procedure.unknown", 0, "Unknown procedure code",
                     "Permanent: use a procedure code published in the national catalogue (procedure_code).")
PROC_INACTIVE = _code("procedure.inactive", 0, "The procedure is no longer in force",
                      "Permanent: the procedure was withdrawn from the national catalogue; use its replacement.")
PROC_FEE_MISMATCH = _code("procedure.fee_mismatch", 0, "A fee differs from the published fee",
                          "Permanent: correct fees[].amount (or fees[].code) to the published fee, then resend.")
PROC_COMPONENT_MISSING = _code("procedure.component_missing", 0, "A required dossier component is missing",
                               "Permanent: attach the component named in the detail (attachments[].component_code).")
PROC_NOT_FOUND = _code("procedure.not_found", 404, "No such procedure in the catalogue",
                       "Check the code (d.dddddd); the catalogue is the national one, synced by the hub.")

# --- signatures and checksums (hub/signing; see docs/signing.md) --------------------------------
# Status is what an inbound endpoint answers the partner with; on the outbound path a signing failure is a
# permanent delivery error (dead letter), never retried.
SIG_MALFORMED = _code("signature.malformed", 400, "Signed document cannot be read safely",
                      "Send well-formed XML/JSON without DTDs or entities.")
SIG_MISSING = _code("signature.missing", 401, "No signature where one is required",
                    "Sign the document; the signature must be at the agreed location.")
SIG_INVALID = _code("signature.invalid", 401, "Signature does not match the content",
                    "The content changed after signing, or was signed with another key; resend the original.")
SIG_WRAPPING = _code("signature.wrapping", 401, "Signature does not cover the document as expected",
                     "One signature per document, at the agreed location, referencing the element that contains it.")
SIG_UNEXPECTED_REFERENCES = _code("signature.unexpected_references", 401,
                                  "Signature has an unexpected number of references",
                                  "Sign with exactly the agreed number of references.")
SIG_ALGORITHM_FORBIDDEN = _code("signature.algorithm_forbidden", 401, "Signature algorithm not allowed",
                                "Use RSA-SHA256 or ECDSA-SHA256 (or stronger); SHA-1, HMAC and 'none' are refused.")
SIG_WEAK_KEY = _code("signature.weak_key", 401, "Signing key too weak",
                     "Use RSA of at least 2048 bits or ECDSA on P-256 or stronger.")
SIG_KEY_INFO_AMBIGUOUS = _code("signature.key_info_ambiguous", 401, "Signature names more than one signing key",
                               "Put exactly one signing certificate (plus its chain) in KeyInfo, nothing else.")
SIG_CERT_UNTRUSTED = _code("signature.certificate_untrusted", 401, "Signing certificate not trusted for this partner",
                           "Sign with the certificate registered with the hub, or register the partner's CA.")
SIG_CERT_EXPIRED = _code("signature.certificate_expired", 401, "Signing certificate expired",
                         "Renew the signing certificate and register the new one with the hub.")
SIG_CERT_NOT_YET_VALID = _code("signature.certificate_not_yet_valid", 401, "Signing certificate not yet valid",
                               "Check the signer's clock and the certificate's validity dates.")
SIG_UNKNOWN_KEY = _code("signature.unknown_key", 401, "Signing key id not known for this partner",
                        "Use a 'kid' registered for this partner in the hub's trust store.")
SIG_HEADER_FORBIDDEN = _code("signature.header_forbidden", 401, "Signature header not allowed",
                             "Remove jku/x5u/jwk headers and any 'crit' extension other than b64.")
SIG_NO_TRUST_STORE = _code("signature.no_trust_store", 500, "No trust store configured for this partner",
                           "Add the partner under signing.trust in config/hub.yaml.")
SIG_KEY_UNAVAILABLE = _code("signature.key_unavailable", 500, "Signing key cannot be used",
                            "Check the key's files, its password variable and its certificate's dates "
                            "('python run.py keys').")
CHECKSUM_MISSING = _code("checksum.missing", 401, "Checksum missing",
                         "Send the checksum field the partner scheme requires.")
CHECKSUM_MALFORMED = _code("checksum.malformed", 401, "Checksum is not valid hex of the right length",
                           "Send the checksum as hex of the scheme's digest length.")
CHECKSUM_MISMATCH = _code("checksum.mismatch", 401, "Checksum does not match",
                          "Compute the checksum over the documented fields with the shared secret.")


# --- hardening: limits, identifiers, inbound access, secrets (hub/limits.py, hub/xmlsafe.py, hub/ids.py) -----------
REQ_BAD_ENCODING = _code("request.unsupported_encoding", 415, "Body encoding not accepted",
                         "Send UTF-8 JSON, uncompressed or with Content-Encoding gzip or deflate.")
REQ_CONTROL_CHAR = _code("request.control_character", 400, "Text contains NUL or a control character",
                         "Remove NUL and control characters (only tab, CR and LF are allowed inside text).")
REQ_TOO_DEEP = _code("request.too_deep", 400, "Body nested too deeply",
                     "Flatten the structure; see hub.limits.json_depth (default 32 levels).")
REQ_NUMBER_TOO_LARGE = _code("request.number_too_large", 400, "A number is too large",
                             "Send amounts and counts as plain numbers of at most 30 digits (hub.limits.number_digits).")
REQ_BAD_IDENTIFIER = _code("request.bad_identifier", 400, "An identifier has characters that are not allowed",
                           "Ids, names and header values use letters, digits and . _ : - only (at most 128); "
                           "never CR, LF or other control characters.")
MSG_ATTACHMENT = _code("message.attachment_refused", 422, "An attachment's content does not match its declared type",
                      "Send the file itself with its true content_type (a PDF as application/pdf); programs and web "
                      "pages with script are not carried (see 'errors' for which attachment).")
XML_REFUSED = _code("xml.refused", 400, "XML document refused",
                    "Send well-formed UTF-8 XML without DOCTYPE, entities or XInclude, within the size and depth limits.")
INBOUND_IP_REFUSED = _code("inbound.address_not_allowed", 403, "Callback from an address not allowed for this partner",
                           "Call from an address in the connector's allow_ips (config/connectors.yaml).")
STORE_KEY = _code("store.key_unavailable", 500, "The store's encryption key cannot be used",
                  "Set HUB_STORE_KEY (Fernet keys, comma-separated, newest first) or hub.store_keys.file; "
                  "keep every old key until 'python run.py purge' or re-encryption has retired its rows.")

def lookup(code: str) -> Code:
    return _CODES[code]


def all_codes() -> dict[str, Code]:
    return dict(_CODES)


class HubError(Exception):
    """Root of every error the hub raises on purpose."""

    def __init__(self, code: str, detail: str | None = None, *, fix: str | None = None, **extra: Any) -> None:
        spec = _CODES[code]
        self.code = code
        self.status = spec.status
        self.title = spec.title
        self.detail = detail or spec.title
        self.fix = fix or spec.fix
        self.extra = extra
        super().__init__(f"[{code}] {self.detail}")

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem document: never a stack trace, secret or personal data."""
        body: dict[str, Any] = {"type": f"https://lgsp-hub/errors/{self.code}", "code": self.code,
                                "title": self.title, "status": self.status, "detail": self.detail, "fix": self.fix}
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class ConfigError(HubError):
    def __init__(self, problems: list["ConfigProblem"]) -> None:  # noqa: F821 - defined in hub.config
        self.problems = problems
        super().__init__(CONFIG_INVALID, f"{len(problems)} problem(s) in the configuration")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class RequestError(HubError):
    pass


class AuthError(RequestError):
    pass


class ConflictError(RequestError):
    pass


class NotFoundError(HubError):
    pass


class UnavailableError(HubError):
    def __init__(self, code: str, detail: str | None = None, retry_after: int = 5, **extra: Any) -> None:
        self.retry_after = retry_after
        super().__init__(code, detail, **extra)


class DeliveryError(HubError):
    transient = False

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(code, detail, **extra)


class TransientError(DeliveryError):
    transient = True

    def __init__(self, code: str, detail: str | None = None, retry_after: float | None = None, **extra: Any) -> None:
        self.retry_after = retry_after
        super().__init__(code, detail, **extra)


class PermanentError(DeliveryError):
    transient = False
