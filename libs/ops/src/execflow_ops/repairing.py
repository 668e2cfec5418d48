"""`execflow repair`: the streams made again where NATS lost them."""

from nats.js.errors import NotFoundError

from execflow_platform import ServiceSettings, connect, ensure_streams, stream_configs


async def repair_streams(settings: ServiceSettings | None = None) -> list[str]:
    """The streams that were missing, now made again."""
    settings = settings or ServiceSettings()
    nc = await connect(settings.nats_url, "execflow-repair")
    try:
        js = nc.jetstream()
        missing = []
        for config in stream_configs(settings.topology):
            try:
                await js.stream_info(str(config.name))
            except NotFoundError:
                missing.append(str(config.name))
        await ensure_streams(js, settings.topology)
        return missing
    finally:
        await nc.close()
