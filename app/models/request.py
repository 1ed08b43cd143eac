"""Schemas of /request: a job (the module's "request") and the commands that make one."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from app.models.error import Responses, error_response

JobState = Literal["pending", "success", "failed"]

# The module's answers to POST /request?wait=1 on a test cluster, with cephgw's uuid4 ids
# and `errno`: a job that succeeded, one that failed, and one still running its first wave.
JOB_EXAMPLES: Final[list[Any]] = [
    {
        "id": "5d0f4c9e-8d3b-4b8e-9a57-0c7f3e1b2a64",
        "running": [],
        "finished": [
            {
                "command": "osd stat format=json",
                "outs": "",
                "outb": '{"epoch":15,"num_osds":3,"num_up_osds":3,"osd_up_since":1795610180,'
                '"num_in_osds":3,"osd_in_since":1795610443,"num_remapped_pgs":0}',
                "errno": 0,
            }
        ],
        "failed": [],
        "waiting": [],
        "is_waiting": False,
        "is_finished": True,
        "has_failed": False,
        "state": "success",
    },
    {
        "id": "0b8a3f0e-2f7c-4d0a-8e43-6d1c9b5a7e21",
        "running": [],
        "finished": [],
        "failed": [
            {
                "command": "osd pool get pool=nope var=size",
                "outs": "unrecognized pool 'nope'",
                "outb": "",
                "errno": 2,
            }
        ],
        "waiting": [],
        "is_waiting": False,
        "is_finished": True,
        "has_failed": True,
        "state": "failed",
    },
    {
        "id": "9e2d7b14-6c35-4f0b-b1a8-3f5e0d2c4a97",
        "running": [
            {
                "command": "osd pool create pool=sample pg_num=8",
                "outs": "",
                "outb": "",
                "errno": None,
            }
        ],
        "finished": [],
        "failed": [],
        "waiting": [["osd pool set pool=sample var=size val=1"]],
        "is_waiting": True,
        "is_finished": False,
        "has_failed": False,
        "state": "pending",
    },
]


class CommandResult(BaseModel):
    """One command of a job, as it stands."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [JOB_EXAMPLES[1]["failed"][0], JOB_EXAMPLES[2]["running"][0]]
        }
    )

    command: str = Field(
        description="The command, humanised as the module did: `prefix key=value ...`."
    )
    outs: str = Field(description="Ceph's status text (empty while the command runs).")
    outb: str = Field(description="Ceph's output buffer (empty while the command runs).")
    errno: int | None = Field(
        default=None,
        description=(
            "cephgw's addition: Ceph's errno, positive (0 for success, null while the "
            "command runs)."
        ),
    )


class Job(BaseModel):
    """A job (the module's "request"): waves of mon commands; a wave's commands run at once,
    waves one after another."""

    model_config = ConfigDict(json_schema_extra={"examples": JOB_EXAMPLES})

    id: str = Field(description="The job's id (a uuid4, never reused).")
    running: list[CommandResult] = Field(description="Commands of the current wave still running.")
    finished: list[CommandResult] = Field(description="Commands that succeeded, in finish order.")
    failed: list[CommandResult] = Field(description="Commands Ceph refused, in finish order.")
    waiting: list[list[str]] = Field(description="The waves not started yet, humanised.")
    is_waiting: bool = Field(description="Whether waves are still waiting.")
    is_finished: bool = Field(description="Whether nothing runs and nothing waits.")
    has_failed: bool = Field(description="Whether any command failed.")
    state: JobState = Field(description="`pending` until finished, then `failed` or `success`.")


class CleanedJobs(BaseModel):
    """What DELETE /request dropped."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"cleaned": 3, "remaining": 1}]})

    cleaned: int = Field(description="Finished jobs removed.")
    remaining: int = Field(description="Jobs left (all unfinished).")


class MonCommand(BaseModel):
    """One mon command as Ceph's CLI sends it: a `prefix` plus the command's arguments."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"prefix": "osd pool get", "pool": "rbd", "var": "size"}]},
    )

    prefix: str = Field(min_length=1, description="The command, e.g. `osd pool set`.")


def _shape_error(data: Any) -> str | None:
    """What is wrong with a POST /request body, or None when it has the right shape."""
    if isinstance(data, dict):
        return _command_error(data, "the command")
    if not isinstance(data, list):
        return "the body must be a mon command {'prefix': ...} or waves [[{c1},{c2}],[{c3}]]"
    for i, wave in enumerate(data):
        if not isinstance(wave, list):
            return f"wave {i} is not a list: the body must be waves [[{{c1}},{{c2}}],[{{c3}}]]"
        for j, command in enumerate(wave):
            if not isinstance(command, dict):
                return f"wave {i}, command {j} is not an object {{'prefix': ...}}"
            error = _command_error(command, f"wave {i}, command {j}")
            if error:
                return error
    return None


def _command_error(command: dict[str, Any], where: str) -> str | None:
    prefix = command.get("prefix")
    if not isinstance(prefix, str) or not prefix.strip():
        return f"{where} needs a 'prefix', a non-empty string naming the mon command"
    return None


class RequestBody(RootModel[MonCommand | list[list[MonCommand]]]):
    """One mon command, or waves of them: `[[{c1},{c2}],[{c3}]]` runs c1 and c2, then c3."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"prefix": "osd stat", "format": "json"},
                [
                    [{"prefix": "osd pool create", "pool": "sample", "pg_num": 8}],
                    [{"prefix": "osd pool set", "pool": "sample", "var": "size", "val": "1"}],
                ],
            ]
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _check_shape(cls, data: Any) -> Any:
        # One clear message instead of the union's two sets of errors.
        error = _shape_error(data)
        if error:
            raise ValueError(error)
        return data

    def waves(self) -> list[list[dict[str, Any]]]:
        """The commands as dicts, argument order kept, in waves (empty waves dropped later)."""
        root = self.root
        if isinstance(root, MonCommand):
            return [[root.model_dump()]]
        return [[command.model_dump() for command in wave] for wave in root]


# Every route that starts a job: its 200, and the other answers it may give.
JOB_STARTED: Final = "The job: ended (with ?wait=1), or just started, its first wave running."
JOB_RESPONSES: Final[Responses] = {
    202: {
        "model": Job,
        "description": "With ?wait=1: the job did not finish in time; it is shown as it stands.",
    },
    503: error_response(
        "The cluster is not reachable, or the gateway is shutting down or runs too many "
        "jobs; retry after the Retry-After seconds."
    ),
}
