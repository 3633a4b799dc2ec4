"""The `voice-status` command: create, list, show, watch, messages, cancel and export campaigns.

Every subcommand takes `--api URL` (a deployed stack's ApiUrl, SigV4-signed with the caller's AWS
credentials); without it the local stack's `.local/outputs.json` names the API. Failures are one
line on stderr and exit 2 (`watch` exits 1 when the campaign ends Failed), never a traceback.
"""

from __future__ import annotations

import csv
import sys
import time
import uuid
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.live import Live

from voice_status_cli.api import ApiError, Endpoint, VoiceStatusApi, deployed_endpoint, local_endpoint
from voice_status_cli.recipients import E164, RecipientsError, read_recipients
from voice_status_cli.render import WatchView, campaign_panel, campaigns_table, messages_table

EXIT_FAILED = 1  # watch: the campaign ended Failed
EXIT_ERROR = 2  # bad input, unreachable API, an error answer
EXPORT_COLUMNS = ("to", "messageId", "status", "final", "duration", "price", "updatedAt")
FINAL_CAMPAIGN_STATUSES = ("Finished", "Failed")

console = Console()
F = TypeVar("F", bound=Callable[..., Any])


def _api_option(command: F) -> F:
    """`--api URL` on every subcommand; the command receives a ready `api` instead."""

    @click.option(
        "--api",
        "api_url",
        envvar="VOICE_STATUS_API",
        metavar="URL",
        help="A deployed stack's ApiUrl (SigV4-signed). Default: the local stack's .local/outputs.json.",
    )
    @wraps(command)
    def with_api(*args: Any, api_url: str | None, **kwargs: Any) -> Any:
        endpoint: Endpoint = deployed_endpoint(api_url) if api_url else local_endpoint()
        return command(*args, api=VoiceStatusApi(endpoint), **kwargs)

    return with_api  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Run voice campaigns and follow every call's status."""


@cli.command()
@click.option("--name", required=True, help="Campaign name.")
@click.option("--from", "from_", required=True, metavar="E164", help="Caller id, e.g. +302100000000.")
@click.option("--text", help="Text the call says (text-to-speech).")
@click.option("--audio-url", metavar="URL", help="https URL of a .wav file to play instead of --text.")
@click.option("--language", default="en-US", show_default=True, help="Voice language for --text.")
@click.option("--gender", type=click.Choice(["female", "male"]), default="female", show_default=True)
@click.option(
    "--recipients-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV whose first column holds the numbers (a header row is allowed).",
)
@click.option("--to", "to", multiple=True, metavar="E164", help="A recipient; repeat for more.")
@click.option("--scheduled-at", metavar="ISO", help="Start time, ISO-8601 with a zone.")
@click.option(
    "--completion-timeout",
    type=click.IntRange(1, 604800),
    metavar="S",
    help="Seconds to wait for final statuses.",
)
@click.option("--idempotency-key", help="Makes a retried create safe (default: a new key per run).")
@_api_option
def create(
    *,
    api: VoiceStatusApi,
    name: str,
    from_: str,
    text: str | None,
    audio_url: str | None,
    language: str,
    gender: str,
    recipients_file: Path | None,
    to: tuple[str, ...],
    scheduled_at: str | None,
    completion_timeout: int | None,
    idempotency_key: str | None,
) -> None:
    """Create a campaign; prints its id alone on the last line."""
    if (text is None) == (audio_url is None):
        raise click.UsageError("give exactly one of --text and --audio-url")
    if (recipients_file is None) == (not to):
        raise click.UsageError("give either --recipients-file or one or more --to")
    recipients = read_recipients(recipients_file) if recipients_file else list(to)
    for number in recipients:
        if not E164.match(number):
            raise click.UsageError(f"--to {number!r} is not an E.164 number like +306900000001")
    request: dict[str, Any] = {"name": name, "from": from_, "recipients": recipients}
    if text is not None:
        request["message"] = {"text": text, "language": language, "gender": gender}
    else:
        request["audioUrl"] = audio_url
    if scheduled_at:
        request["scheduledAt"] = scheduled_at
    if completion_timeout is not None:
        request["completionTimeoutSeconds"] = completion_timeout
    campaign = api.create_campaign(request, idempotency_key or str(uuid.uuid4()))
    console.print(
        f"Created campaign [bold]{campaign['name']}[/bold]: {campaign['status']}, "
        f"{campaign['counts']['total']} recipients"
    )
    click.echo(campaign["campaignId"])


@cli.command(name="list")
@click.option("--status", help="Only campaigns in this status (e.g. Sent).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="At most this many.")
@_api_option
def list_campaigns(api: VoiceStatusApi, status: str | None, limit: int) -> None:
    """List campaigns, newest first."""
    campaigns = list(api.campaigns(status=status, limit=limit))
    if not campaigns:
        console.print("no campaigns" + (f" in status {status}" if status else ""))
        return
    console.print(campaigns_table(campaigns))


@cli.command()
@click.argument("campaign_id")
@_api_option
def show(api: VoiceStatusApi, campaign_id: str) -> None:
    """A campaign's status, history and counts."""
    console.print(campaign_panel(api.get_campaign(campaign_id)))


@cli.command()
@click.argument("campaign_id")
@click.option(
    "--interval", type=click.FloatRange(0.1), default=1.0, show_default=True, help="Seconds between polls."
)
@_api_option
def watch(api: VoiceStatusApi, campaign_id: str, interval: float) -> None:
    """Follow a campaign live until it ends: exit 0 when Finished, 1 when Failed."""
    view = WatchView()
    campaign = api.get_campaign(campaign_id)
    view.update(campaign)
    with Live(view, console=console, refresh_per_second=4):
        while campaign["status"] not in FINAL_CAMPAIGN_STATUSES:
            time.sleep(interval)  # polling the API; the user watches, no event to wait on
            campaign = api.get_campaign(campaign_id)
            view.update(campaign)
    reason = f" ({campaign['failureReason']})" if campaign.get("failureReason") else ""
    console.print(f"campaign {campaign_id} {campaign['status']}{reason}")
    if campaign["status"] == "Failed":
        click.get_current_context().exit(EXIT_FAILED)


@cli.command()
@click.argument("campaign_id")
@click.option("--status", help="Only messages in this status (e.g. Busy, or Queued for not yet reached).")
@click.option(
    "--limit", type=click.IntRange(1), default=100, show_default=True, help="At most this many rows."
)
@_api_option
def messages(api: VoiceStatusApi, campaign_id: str, status: str | None, limit: int) -> None:
    """A campaign's messages (use export for all of them)."""
    found = list(api.messages(campaign_id, status=status, limit=limit))
    if not found:
        console.print("no messages" + (f" in status {status}" if status else ""))
        return
    console.print(messages_table(found))


@cli.command()
@click.argument("campaign_id")
@_api_option
def cancel(api: VoiceStatusApi, campaign_id: str) -> None:
    """Cancel a campaign that is still Scheduled or Queued."""
    campaign = api.cancel_campaign(campaign_id)
    console.print(f"campaign {campaign_id} {campaign['status']} ({campaign.get('failureReason') or ''})")


@cli.command()
@click.argument("campaign_id")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    help="CSV file to write.",
)
@_api_option
def export(api: VoiceStatusApi, campaign_id: str, output: Path) -> None:
    """Write every recipient's message to a CSV file."""
    api.get_campaign(campaign_id)  # an unknown campaign is an error, not an empty file
    rows = 0
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for message in api.messages(campaign_id):
                writer.writerow({column: _csv_value(message.get(column)) for column in EXPORT_COLUMNS})
                rows += 1
        partial.replace(output)  # a failed export leaves no half-written file under the name asked for
    except OSError as error:
        raise ApiError(f"cannot write {output}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    console.print(f"{rows} messages written to {output}")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the command and turns every failure into one line and exit code 2."""
    try:
        # Without standalone mode click returns ctx.exit()'s code and raises its errors to us.
        code = cli.main(args=argv, prog_name="voice-status", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        return EXIT_ERROR
    except (ApiError, RecipientsError) as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
