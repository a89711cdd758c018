"""The HTTP API: FastAPI app, middleware, problem documents, routers."""
