"""The operators' dashboard (/ui) and the ops endpoints (/metrics, /healthz, /readyz): plain werkzeug handlers."""
