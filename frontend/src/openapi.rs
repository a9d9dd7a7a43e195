//! The OpenAPI 3 description of the HTTP API, served at `GET /openapi.json`.
//!
//! Hand-written, next to the routes it describes; a test checks that every route of
//! [`crate::http::ROUTES`] appears here and nothing else does.

use serde_json::{Value, json};

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let user = json!({ "$ref": "#/components/parameters/User" });
    let customer = json!({ "$ref": "#/components/parameters/Customer" });
    let movie = json!({ "$ref": "#/components/parameters/Movie" });
    let show_id = json!({ "$ref": "#/components/parameters/ShowId" });
    let key = json!({ "$ref": "#/components/parameters/IdempotencyKey" });
    let err = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        })
    };
    let ok = |description: &str, schema: &str| {
        json!({
            "description": description,
            "headers": {
                "X-DMTBS-Seq": { "$ref": "#/components/headers/Seq" },
                "X-DMTBS-Agreed": { "$ref": "#/components/headers/Agreed" },
                "X-DMTBS-Replayed": { "$ref": "#/components/headers/Replayed" }
            },
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
        })
    };
    let body = |schema: &str| {
        json!({
            "required": true,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
        })
    };
    // The answers every operation route can give besides its success.
    let common = |codes: &str| {
        json!({
            "400": err("Malformed request: unreadable JSON, wrong types, missing or unknown fields, a malformed Idempotency-Key (code `bad-request`)."),
            "408": err("The body stopped arriving, or the whole request took too long (code `request-timeout`)."),
            "413": err("The body is larger than the front end accepts (code `body-too-large`)."),
            "415": err("A body sent without Content-Type: application/json (code `unsupported-media-type`)."),
            "429": err("Too many failed authentications from this address; see Retry-After (code `too-many-attempts`)."),
            "401": err("No token, or one that is malformed, forged, altered, expired or revoked; or the cluster's admin key, which books nothing (code `unauthenticated`). Nothing sequenced."),
            "403": err("`wrong-user`: X-DMTBS-User names another user than the token's (nothing sequenced); `not-authorized`: the token's user may not do this — a customer acting for another customer, an admin on another area's show (refused before sequencing, no X-DMTBS-Seq) — or the rules refused it."),
            "404": err("Refused by the rules: `show-not-found` or `not-booked`."),
            "409": err(&format!("Refused by the rules (current state): {codes}.")),
            "422": err("Malformed value, refused before sequencing (`invalid-user-id`, `invalid-show-id`, `unknown-movie`, `invalid-capacity`, `invalid-tickets`; nothing around a value is trimmed, and a count is a plain integer 1..10000 — any other number or query value such as 1.5, 2.0, 1e0, +1 is `invalid-capacity`/`invalid-tickets`), refused by the rules (`outside-window`, `same-show`), or the Idempotency-Key was used before by the same user for a different request (`idempotency-key-reused`, details.firstSeq: where that request was executed; nothing executed)."),
            "503": err("No two replicas agreed in time (`no-agreement`, the request was executed), the cluster is unavailable (`unavailable`), or the front end is handling as many requests as it may (`overloaded`, with Retry-After; nothing executed).")
        })
    };
    let with = |mut responses: Value, extra: &[(&str, Value)]| {
        for (status, response) in extra {
            responses[*status] = response.clone();
        }
        responses
    };
    let admin_security = json!([{ "userToken": [] }]);

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "DMTBS — distributed movie-ticket booking",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The front end of a fault-tolerant movie-ticket booking service. Every booking request proves who its actor is with that user's token (PASETO v4.local), `Authorization: Bearer <token>`, issued by an admin of the user's area (POST /v1/tokens) or by the cluster operator's admin key; the token's subject is the actor, and an X-DMTBS-User header, optional, must name the same user. A customer's token acts for that customer only; an area admin's manages its own area's shows and acts for any customer. The operator API (/v1/admin/…) takes the cluster's admin key. Identifiers and movie names are accepted in any letter case and canonicalised; nothing else (no space, tab or other character around them). Every error has the shape {\"error\": {\"code\", \"message\", \"details\"}}; `code` is the booking rules' error code or one of `bad-request`, `unauthenticated`, `wrong-user`, `invalid-ttl`, `invalid-token-id`, `revocation-unavailable`, `idempotency-key-reused`, `no-agreement`, `unavailable`, `overloaded`, `request-timeout`, `body-too-large`, `unsupported-media-type`, `too-many-attempts`, `no-such-route`, `method-not-allowed`. Booking requests may carry an `Idempotency-Key`: a request executed before is answered again as the first time, with `X-DMTBS-Replayed`, and never executed twice."
        },
        "paths": {
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "Liveness of the front end",
                    "responses": { "200": {
                        "description": "The front end is up.",
                        "content": { "application/json": { "schema": {
                            "type": "object", "required": ["status"],
                            "properties": { "status": { "const": "ok" } }
                        } } }
                    } }
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": { "200": {
                        "description": "The OpenAPI description.",
                        "content": { "application/json": { "schema": { "type": "object" } } }
                    } }
                }
            },
            "/v1/shows": {
                "post": {
                    "operationId": "addShow",
                    "summary": "add-show: create a show, or set the capacity of an existing one (admin of the show's area)",
                    "parameters": [user, key],
                    "security": admin_security,
                    "requestBody": body("AddShowRequest"),
                    "responses": with(common("`capacity-below-booked`"), &[
                        ("201", ok("The show was created.", "ShowAdded")),
                        ("200", ok("The show existed; its capacity was set.", "ShowUpdated")),
                    ])
                }
            },
            "/v1/shows/{movie}/{showId}": {
                "delete": {
                    "operationId": "removeShow",
                    "summary": "remove-show: delete a show and move its bookings to the next show of the same movie in the area (admin of the show's area)",
                    "parameters": [user, key, movie, show_id],
                    "security": admin_security,
                    "responses": with(common("`past-show`"), &[
                        ("200", ok("The show was removed.", "ShowRemoved")),
                    ])
                }
            },
            "/v1/movies/{movie}/availability": {
                "get": {
                    "operationId": "availability",
                    "summary": "availability: every non-past show of the movie in all areas, with seats left",
                    "parameters": [user, key, movie],
                    "security": admin_security,
                    "responses": with(common("none"), &[
                        ("200", ok("Shows in show order, full ones included.", "Availability")),
                    ])
                }
            },
            "/v1/customers/{customer}/bookings": {
                "post": {
                    "operationId": "book",
                    "summary": "book: tickets for a show (the customer itself, or an admin on its behalf)",
                    "parameters": [user, key, customer],
                    "security": admin_security,
                    "requestBody": body("BookRequest"),
                    "responses": with(common("`past-show`, `same-show-other-area`, `weekly-limit`, `show-full` (details.remaining)"), &[
                        ("200", ok("Booked.", "Booked")),
                    ])
                },
                "get": {
                    "operationId": "schedule",
                    "summary": "schedule: all of the customer's bookings, past ones included",
                    "parameters": [user, key, customer],
                    "security": admin_security,
                    "responses": with(common("none"), &[
                        ("200", ok("Bookings in show order.", "Schedule")),
                    ])
                }
            },
            "/v1/customers/{customer}/bookings/{movie}/{showId}": {
                "delete": {
                    "operationId": "cancel",
                    "summary": "cancel: give back tickets of a booking",
                    "parameters": [user, key, customer, movie, show_id, {
                        "name": "tickets", "in": "query", "required": true,
                        "description": "How many tickets to cancel: a plain integer 1..=10000 (no sign, leading zero, space, fraction or exponent; anything else is 422 invalid-tickets).",
                        "schema": { "type": "integer" }
                    }],
                    "security": admin_security,
                    "responses": with(common("`past-show`, `too-many-tickets` (details.held)"), &[
                        ("200", ok("Cancelled.", "Cancelled")),
                    ])
                }
            },
            "/v1/customers/{customer}/exchanges": {
                "post": {
                    "operationId": "exchange",
                    "summary": "exchange: move tickets of one booking to another show, atomically",
                    "parameters": [user, key, customer],
                    "security": admin_security,
                    "requestBody": body("ExchangeRequest"),
                    "responses": with(common("`past-show`, `same-show-other-area`, `weekly-limit`, `show-full` (details.remaining), `too-many-tickets` (details.held)"), &[
                        ("200", ok("Exchanged.", "Exchanged")),
                    ])
                }
            },
            "/v1/admin/replicas": {
                "get": {
                    "operationId": "replicaStatus",
                    "summary": "operator: every replica manager's status (module and hash, health, last sequence number, consecutive faults, swaps, stable checkpoint, quarantine)",
                    "security": [{ "adminKey": [] }],
                    "responses": {
                        "200": { "description": "The RMs that answered (`replicas`) and those that did not (`silent`).", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "401": err("No or a wrong admin key (code `unauthenticated`)."),
                        "503": err("The front end cannot reach the cluster (code `unavailable`).")
                    }
                }
            },
            "/v1/admin/replicas/{rm}/swap": {
                "post": {
                    "operationId": "swapReplica",
                    "summary": "operator: replace RM `rm`'s replica by a fresh instance of `module` with the correct state (a rolling upgrade)",
                    "security": [{ "adminKey": [] }],
                    "parameters": [{ "name": "rm", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0, "maximum": 255 } }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["module"], "properties": { "module": { "type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$" }, "force": { "type": "boolean", "default": false, "description": "swap even if another RM runs the same module (by hash)" } }, "additionalProperties": false } } } },
                    "responses": {
                        "202": { "description": "The swap started; `replica` is the RM's status.", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "400": err("Malformed request (code `bad-request`)."),
                        "401": err("No or a wrong admin key (code `unauthenticated`)."),
                        "404": err("No such replica manager (code `no-such-replica`)."),
                        "409": err("The RM cannot load that module: unknown, invalid or quarantined, or another RM runs it already and `force` is not set (code `swap-refused`)."),
                        "503": err("The RM did not answer (code `unavailable`).")
                    }
                }
            },
            "/v1/admin/quarantine": {
                "get": {
                    "operationId": "quarantineList",
                    "summary": "operator: the modules quarantined cluster-wide",
                    "security": [{ "adminKey": [] }],
                    "responses": {
                        "200": { "description": "`quarantine`: module, hash, the RM that judged it, why.", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "401": err("No or a wrong admin key (code `unauthenticated`)."),
                        "503": err("The front end cannot reach the cluster (code `unavailable`).")
                    }
                },
                "delete": {
                    "operationId": "quarantineClearAll",
                    "summary": "operator: clear every quarantine",
                    "security": [{ "adminKey": [] }],
                    "responses": {
                        "200": { "description": "The quarantine list left.", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "401": err("No or a wrong admin key (code `unauthenticated`)."),
                        "503": err("The front end cannot reach the cluster (code `unavailable`).")
                    }
                }
            },
            "/v1/admin/quarantine/{module}": {
                "delete": {
                    "operationId": "quarantineClear",
                    "summary": "operator: clear the quarantine of one module (name or hash)",
                    "security": [{ "adminKey": [] }],
                    "parameters": [{ "name": "module", "in": "path", "required": true, "schema": { "type": "string" } }],
                    "responses": {
                        "200": { "description": "The quarantine list left.", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "401": err("No or a wrong admin key (code `unauthenticated`)."),
                        "404": err("That module is not quarantined (code `not-quarantined`)."),
                        "503": err("The front end cannot reach the cluster (code `unavailable`).")
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "adminKey": {
                    "type": "http", "scheme": "bearer",
                    "description": "The cluster operator's admin key: the operator API, and issuing and revoking any user's tokens. Booking requests refuse it."
                },
                "userToken": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "PASETO v4.local",
                    "description": "A user's token: its subject is the actor of every booking request. Issued by POST /v1/tokens; refused once expired or revoked."
                }
            },
            "parameters": {
                "User": {
                    "name": "X-DMTBS-User", "in": "header", "required": false,
                    "description": "The actor, a user ID such as ATWC0001 or VERA1000 (any letter case). Optional: the token names the actor; when sent it must name the token's user (else 403 `wrong-user`).",
                    "schema": { "type": "string" }
                },
                "Customer": {
                    "name": "customer", "in": "path", "required": true,
                    "description": "The customer's user ID (role C), any letter case.",
                    "schema": { "type": "string" }
                },
                "Movie": {
                    "name": "movie", "in": "path", "required": true,
                    "description": "Avatar, Avengers or Titanic, any letter case.",
                    "schema": { "type": "string" }
                },
                "ShowId": {
                    "name": "showId", "in": "path", "required": true,
                    "description": "Area + slot (M, A, E) + ddmmyy, e.g. ATWM251126, any letter case.",
                    "schema": { "type": "string" }
                },
                "IdempotencyKey": {
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "The client's idempotency key (IETF draft-ietf-httpapi-idempotency-key-header): 1 to 128 characters of printable ASCII without spaces, bare or as the draft's quoted string (the same key). Send a new one for each new request and the same one when retrying it: a request whose key its user (X-DMTBS-User) used before is not executed again — it is answered exactly as the first time, with X-DMTBS-Replayed; used before for a different request: 422 `idempotency-key-reused`. Malformed: 400 `bad-request`, nothing sequenced.",
                    "schema": { "type": "string", "minLength": 1, "maxLength": 130 }
                }
            },
            "headers": {
                "Seq": { "description": "The request's sequence number.", "schema": { "type": "integer" } },
                "Agreed": { "description": "The replica managers whose results agreed, comma-separated.", "schema": { "type": "string" } },
                "Replayed": { "description": "Present when the request was executed before (a retry with the same Idempotency-Key, or the front end's resubmission after a sequencer failover): the sequence number of that first execution. The answer (status and body) is the first execution's; nothing was executed again. X-DMTBS-Seq is this answer's own. Also sent on refusals by the rules.", "schema": { "type": "integer" } }
            },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": { "error": {
                        "type": "object", "required": ["code", "message", "details"],
                        "properties": {
                            "code": { "type": "string", "description": "The booking rules' error code (e.g. weekly-limit) or a front end code (bad-request, unauthenticated, idempotency-key-reused, no-agreement, unavailable, overloaded, request-timeout, body-too-large, unsupported-media-type, too-many-attempts, no-such-route, method-not-allowed)." },
                            "message": { "type": "string" },
                            "details": { "type": "object", "description": "show-full: {remaining}; too-many-tickets: {held}; malformed values: {field, value}; no-agreement: {seq}; idempotency-key-reused: {firstSeq}; otherwise {}." }
                        }
                    } }
                },
                "AddShowRequest": {
                    "type": "object", "additionalProperties": false,
                    "required": ["movie", "showId", "capacity"],
                    "properties": {
                        "movie": { "type": "string" },
                        "showId": { "type": "string" },
                        "capacity": { "type": "integer", "description": "1..=10000, a plain integer (any other number is 422 invalid-capacity)" }
                    }
                },
                "BookRequest": {
                    "type": "object", "additionalProperties": false,
                    "required": ["movie", "showId", "tickets"],
                    "properties": {
                        "movie": { "type": "string" },
                        "showId": { "type": "string" },
                        "tickets": { "type": "integer", "description": "1..=10000, a plain integer (any other number is 422 invalid-tickets)" }
                    }
                },
                "ExchangeRequest": {
                    "type": "object", "additionalProperties": false,
                    "required": ["oldMovie", "oldShowId", "newMovie", "newShowId", "tickets"],
                    "properties": {
                        "oldMovie": { "type": "string" },
                        "oldShowId": { "type": "string" },
                        "newMovie": { "type": "string" },
                        "newShowId": { "type": "string" },
                        "tickets": { "type": "integer", "description": "1..=10000, a plain integer (any other number is 422 invalid-tickets)" }
                    }
                },
                "ShowAdded": outcome("show-added", json!({})),
                "ShowUpdated": outcome("show-updated", json!({ "oldCapacity": { "type": "integer" } })),
                "ShowRemoved": outcome("show-removed", json!({
                    "moved": { "type": "array", "items": {
                        "type": "object", "required": ["customer", "toShowId", "tickets"],
                        "properties": {
                            "customer": { "type": "string" },
                            "toShowId": { "type": "string" },
                            "tickets": { "type": "integer" }
                        }
                    } },
                    "dropped": { "type": "array", "items": {
                        "type": "object", "required": ["customer", "tickets"],
                        "properties": { "customer": { "type": "string" }, "tickets": { "type": "integer" } }
                    } }
                })),
                "Availability": outcome("availability", json!({
                    "shows": { "type": "array", "items": {
                        "type": "object", "required": ["showId", "remaining"],
                        "properties": { "showId": { "type": "string" }, "remaining": { "type": "integer" } }
                    } }
                })),
                "Booked": outcome("booked", json!({
                    "held": { "type": "integer" }, "remaining": { "type": "integer" }
                })),
                "Schedule": outcome("schedule", json!({
                    "bookings": { "type": "array", "items": {
                        "type": "object", "required": ["movie", "showId", "tickets"],
                        "properties": {
                            "movie": { "type": "string" },
                            "showId": { "type": "string" },
                            "tickets": { "type": "integer" }
                        }
                    } }
                })),
                "Cancelled": outcome("cancelled", json!({
                    "held": { "type": "integer", "description": "Tickets still held (0: the booking is gone)." }
                })),
                "Exchanged": outcome("exchanged", json!({
                    "oldHeld": { "type": "integer" }, "newHeld": { "type": "integer" }
                }))
            }
        }
    });
    // The chaos routes in a literal of their own: one literal for all would exceed the macro's
    // recursion limit.
    chaos_paths(&mut doc, &err);
    status_paths(&mut doc, &err);
    token_paths(&mut doc, &err);
    doc
}

/// Issuing and revoking tokens, and the front ends' revocation exchange (`crate::tokens`).
fn token_paths(doc: &mut Value, err: &dyn Fn(&str) -> Value) {
    let manage = json!([{ "adminKey": [] }, { "userToken": [] }]);
    let refusals = json!({
        "400": err("Unreadable JSON, wrong types, missing or unknown fields (`bad-request`)."),
        "401": err("Neither the admin key nor a valid token (`unauthenticated`)."),
        "403": err("`not-authorized`: a customer's token, or an admin's for a user of another area."),
        "422": err("`invalid-user-id`, `invalid-ttl` (ttlSeconds outside 1..=7776000), `invalid-token-id`."),
        "429": err("Too many failed authentications from this address (`too-many-attempts`)."),
    });
    let with = |extra: Value| {
        let mut r = refusals.clone();
        for (k, v) in extra.as_object().into_iter().flatten() {
            r[k] = v.clone();
        }
        r
    };
    let paths = json!({
        "/v1/tokens": {
            "post": {
                "operationId": "issueToken",
                "summary": "issue a token for a user: the cluster's admin key for any user, an area admin's token for the users (customers and admins) of its area",
                "security": manage,
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["user"], "additionalProperties": false,
                    "properties": {
                        "user": { "type": "string", "description": "Whose token (any letter case)." },
                        "ttlSeconds": { "type": "integer", "minimum": 1, "maximum": 7776000, "description": "Its life; default 30 days, at most 90." }
                    }
                } } } },
                "responses": with(json!({ "201": {
                    "description": "The token (a secret for the user only; Cache-Control: no-store) and its claims. The audit log records the issuer, the user and the token ID, never the token.",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": {
                            "user": { "type": "string" }, "token": { "type": "string" },
                            "tokenId": { "type": "string" },
                            "issuedAt": { "type": "string", "format": "date-time" },
                            "expiresAt": { "type": "string", "format": "date-time" }
                        }
                    } } }
                } }))
            }
        },
        "/v1/tokens/revocations": {
            "post": {
                "operationId": "revokeToken",
                "summary": "revoke one token of a user (tokenId), or every token of the user issued until now; kept on disk and handed to every front end of the cluster",
                "security": manage,
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["user"], "additionalProperties": false,
                    "properties": { "user": { "type": "string" }, "tokenId": { "type": "string" } }
                } } } },
                "responses": with(json!({
                    "200": { "description": "`revoked`: `token` or `all-tokens` (with `issuedUntil`)." },
                    "503": err("The revocation could not be stored, so it was not applied (`revocation-unavailable`).")
                }))
            }
        },
        "/v1/admin/revocations": {
            "get": {
                "operationId": "revocations",
                "summary": "operator: this front end's revocation list (front ends pull each other's)",
                "security": [{ "adminKey": [] }],
                "responses": {
                    "200": { "description": "`users` (user → instant in ms: tokens issued until then are void) and `tokens` (`USER:token ID` → ms after which the entry lapses)." },
                    "401": err("Missing or wrong admin key (`unauthenticated`).")
                }
            },
            "post": {
                "operationId": "mergeRevocations",
                "summary": "operator: merge another front end's revocation list into this one's (lists only grow)",
                "security": [{ "adminKey": [] }],
                "responses": {
                    "200": { "description": "`changed`: whether this front end learnt anything." },
                    "400": err("Not a revocation list (`bad-request`)."),
                    "401": err("Missing or wrong admin key (`unauthenticated`)."),
                    "503": err("The list could not be stored (`revocation-unavailable`).")
                }
            }
        }
    });
    for (path, item) in paths.as_object().into_iter().flatten() {
        doc["paths"][path] = item.clone();
    }
}

/// The operator's chaos routes (fault injection, docs/chaos.md) and their answer's schema.
fn chaos_paths(doc: &mut Value, err: &dyn Fn(&str) -> Value) {
    let paths = json!({
        "/v1/admin/chaos/drop": {
            "post": {
                "operationId": "chaosDrop",
                "summary": "operator, chaos (demos and teaching): node `to` drops `percent` % of the datagrams it receives from node `from` (0 heals the link); operator messages are never dropped",
                "security": [{ "adminKey": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["from", "to", "percent"], "additionalProperties": false,
                    "properties": {
                        "from": { "type": "string", "description": "A node: sequencer, fe<N> or rm<N>, any letter case." },
                        "to": { "type": "string", "description": "Another node, which does the dropping." },
                        "percent": { "type": "integer", "minimum": 0, "maximum": 100 }
                    }
                } } } },
                "responses": {
                    "200": { "description": "`links`: the links into `to` (from, to, percent, dropped so far).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ChaosLinks" } } } },
                    "400": err("Not a node of this cluster, the same node twice, or percent above 100; nothing changed (code `bad-request`)."),
                    "401": err("No or a wrong admin key (code `unauthenticated`)."),
                    "409": err("The node refused (code `chaos-refused`)."),
                    "503": err("The node did not answer (code `unavailable`).")
                }
            }
        },
        "/v1/admin/chaos": {
            "get": {
                "operationId": "chaosLinks",
                "summary": "operator, chaos: every node's links that drop or have dropped",
                "security": [{ "adminKey": [] }],
                "responses": {
                    "200": { "description": "`links` (from, to, percent, dropped so far) and the nodes that did not answer (`unanswered`).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ChaosLinks" } } } },
                    "401": err("No or a wrong admin key (code `unauthenticated`)."),
                    "503": err("The front end cannot reach the cluster (code `unavailable`).")
                }
            },
            "delete": {
                "operationId": "chaosHeal",
                "summary": "operator, chaos: heal every link of every node (the dropped counts stay)",
                "security": [{ "adminKey": [] }],
                "responses": {
                    "200": { "description": "Every link after healing, and the nodes that did not answer (`unanswered`).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ChaosLinks" } } } },
                    "401": err("No or a wrong admin key (code `unauthenticated`)."),
                    "503": err("The front end cannot reach the cluster (code `unavailable`).")
                }
            }
        }
    });
    for (path, item) in paths.as_object().expect("an object literal") {
        doc["paths"][path] = item.clone();
    }
    doc["components"]["schemas"]["ChaosLinks"] = json!({
        "type": "object", "required": ["links", "unanswered"],
        "properties": {
            "links": { "type": "array", "items": {
                "type": "object", "required": ["from", "to", "percent", "dropped"],
                "properties": {
                    "from": { "type": "string" }, "to": { "type": "string" },
                    "percent": { "type": "integer", "minimum": 0, "maximum": 100 },
                    "dropped": { "type": "integer", "minimum": 0, "description": "Datagrams dropped on purpose since `to` started." }
                }
            } },
            "unanswered": { "type": "array", "items": { "type": "string" } }
        }
    });
}

/// A success value's schema: `outcome` names the kind, the other properties are its fields.
fn outcome(kind: &str, fields: Value) -> Value {
    let mut properties = json!({ "outcome": { "const": kind } });
    let mut required = vec![json!("outcome")];
    if let Value::Object(fields) = fields {
        for (name, schema) in fields {
            required.push(json!(name));
            properties[&name] = schema;
        }
    }
    json!({ "type": "object", "required": required, "properties": properties })
}

/// The routes of the metrics and the status page, described in a literal of their own (one
/// literal for all would exceed the macro's recursion limit).
fn status_paths(doc: &mut Value, err: &dyn Fn(&str) -> Value) {
    let paths = json!({
        "/": {
            "get": {
                "operationId": "root",
                "summary": "Redirects to the status page",
                "responses": { "303": {
                    "description": "See /status.",
                    "headers": { "Location": { "schema": { "const": "/status" } } }
                } }
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics of the front end (series dmtbs_fe_…, see docs/metrics.md)",
                "responses": { "200": {
                    "description": "The Prometheus text format 0.0.4.",
                    "content": { "text/plain": { "schema": { "type": "string" } } }
                } }
            }
        },
        "/status": {
            "get": {
                "operationId": "statusPage",
                "summary": "The live status page (HTML; polls /v1/status every second)",
                "responses": { "200": {
                    "description": "A self-contained HTML page.",
                    "content": { "text/html": { "schema": { "type": "string" } } }
                } }
            }
        },
        "/v1/status": {
            "get": {
                "operationId": "status",
                "summary": "What the status page shows: each replica's status, latency and counts, the request rate, recent events. Public: no customer data, read-only.",
                "parameters": [{
                    "name": "since", "in": "query", "required": false,
                    "description": "Only events with a larger id (the lastEventId of a previous answer).",
                    "schema": { "type": "integer", "minimum": 0 }
                }],
                "responses": {
                    "200": {
                        "description": "The status (shape in docs/status-page.md).",
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Status" } } }
                    },
                    "400": err("`since` is not a number (code `bad-request`).")
                }
            }
        }
    });
    for (path, item) in paths.as_object().into_iter().flatten() {
        doc["paths"][path] = item.clone();
    }
    doc["components"]["schemas"]["Status"] = json!({
        "type": "object",
        "required": ["time", "replicas", "silent", "nodes", "chaos", "quarantine", "requests", "votes", "noAgreement", "lastEventId", "events"],
        "properties": {
            "time": { "type": "string", "format": "date-time" },
            "replicas": { "type": "array", "items": {
                "type": "object", "required": ["rm", "health", "module", "latency", "disagreements", "silences"],
                "description": "One per configured RM. health: serving, recovering, catching-up, failed (as the RM reports it), silent (no answer to the last status request) or unknown (never heard from; module null). latency: over its last 100 results, or null.",
                "properties": {
                    "rm": { "type": "integer" },
                    "module": { "type": ["string", "null"] },
                    "hash": { "type": "string", "description": "First 12 hex digits of the module's SHA-256." },
                    "health": { "enum": ["serving", "recovering", "catching-up", "failed", "silent", "unknown"] },
                    "answering": { "type": "boolean" },
                    "reportedHealth": { "type": "string" },
                    "lastHeardMs": { "type": "integer" },
                    "appliedThrough": { "type": "integer" },
                    "consecutiveWrong": { "type": "integer" },
                    "consecutiveSilent": { "type": "integer" },
                    "swaps": { "type": "integer" },
                    "lastSwapReason": { "type": ["string", "null"] },
                    "stableCheckpoint": { "type": "object", "properties": { "seq": { "type": "integer" }, "digest": { "type": "string" } } },
                    "latency": { "type": ["object", "null"], "properties": {
                        "count": { "type": "integer" }, "meanMs": { "type": "number" },
                        "p50Ms": { "type": "number" }, "p95Ms": { "type": "number" }
                    } },
                    "disagreements": { "type": "integer" },
                    "silences": { "type": "integer" },
                    "startedAt": { "type": "string", "format": "date-time", "description": "When the RM's process started (its own clock)." },
                    "uptimeSeconds": { "type": "integer" },
                    "restarts": { "type": "integer", "description": "Restarts of the RM's process this front end saw." }
                }
            } },
            "nodes": { "type": "array", "description": "The sequencer, a standby and the front ends, in configuration order.", "items": {
                "type": "object", "required": ["node", "role", "self", "answering", "state"],
                "properties": {
                    "node": { "type": "string" },
                    "role": { "enum": ["sequencer", "standby", "front-end"] },
                    "self": { "type": "boolean", "description": "The front end answering." },
                    "answering": { "type": "boolean" },
                    "state": { "type": "string", "description": "recovering, starting, numbering or passive (a sequencer); serving (a front end); silent; unknown." },
                    "epoch": { "type": "integer" },
                    "latest": { "type": "integer", "description": "A sequencer: the latest sequence number it gave; a front end: the latest given to one of its requests." },
                    "startedAt": { "type": "string", "format": "date-time" },
                    "uptimeSeconds": { "type": "integer" },
                    "restarts": { "type": ["integer", "null"], "description": "Restarts this front end saw; null for itself." },
                    "lastHeardMs": { "type": "integer" }
                }
            } },
            "chaos": { "type": "array", "description": "Links dropping datagrams on purpose now.", "items": {
                "type": "object", "properties": {
                    "from": { "type": "string" }, "to": { "type": "string" },
                    "percent": { "type": "integer" }, "dropped": { "type": "integer" },
                    "answering": { "type": "boolean" }
                }
            } },
            "quarantine": { "type": "array", "description": "Modules quarantined cluster-wide, once per hash.", "items": {
                "type": "object", "properties": {
                    "module": { "type": "string" }, "hash": { "type": "string" },
                    "by": { "type": "integer" }, "reason": { "type": "string" }
                }
            } },
            "silent": { "type": "array", "items": { "type": "integer" }, "description": "RMs that did not answer the last status request." },
            "requests": { "type": "object", "properties": {
                "total": { "type": "integer" },
                "sequenced": { "type": "integer", "description": "Answered with a sequence number (agreed, or 503 without agreement)." },
                "notSequenced": { "type": "integer", "description": "Answered without a sequence number: refused by the front end (invalid, unauthorised) or the cluster unavailable." },
                "perSecond": { "type": "number" },
                "windowSeconds": { "type": "integer" },
                "history": { "type": "array", "items": { "type": "integer" }, "description": "Requests answered in each of the last 60 whole seconds, oldest first." },
                "longHistory": { "type": "object", "properties": {
                    "bucketSeconds": { "type": "integer" },
                    "counts": { "type": "array", "items": { "type": "integer" }, "description": "Requests answered in each of the last 90 whole intervals (15 minutes), oldest first." }
                } }
            } },
            "votes": { "type": "integer" },
            "noAgreement": { "type": "integer" },
            "lastEventId": { "type": "integer" },
            "events": { "type": "array", "description": "Oldest first; at most the last 200.", "items": {
                "type": "object", "required": ["id", "time", "kind", "incident"],
                "properties": {
                    "id": { "type": "integer" },
                    "incident": { "type": "integer", "description": "The id of the first event of the incident this one belongs to." },
                    "time": { "type": "string", "format": "date-time" },
                    "kind": { "enum": ["disagreement", "silence", "no-agreement", "swap", "restart"] },
                    "node": { "type": "string", "description": "restart: the node." },
                    "role": { "type": "string" },
                    "rm": { "type": "integer" },
                    "seq": { "type": "integer" },
                    "from": { "type": "string" },
                    "to": { "type": "string" },
                    "reason": { "type": ["string", "null"] }
                }
            } }
        }
    });
}
