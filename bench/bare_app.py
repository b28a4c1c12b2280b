"""The baseline for the gateway benchmark: a bare FastAPI endpoint on the same server stack, no
authentication, policy or audit. The gateway's figures are reported as a ratio to this."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare/{item}")
def bare(item: str) -> dict[str, str]:
    return {"item": item, "status": "ok"}
