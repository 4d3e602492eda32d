"""From raw source columns to typed canonical rows with a reason for every record that cannot be stored.

One place holds the rules for every format: which table a file feeds, how --map/--set apply, how each
field is typed, and the reason a record goes to quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

from tiewatch.errors import NotATable, TiewatchError
from tiewatch.ingest.timeparse import parse_ts_sql, ts_problem_sql
from tiewatch.schema import EVENT_KINDS, FIELDS
from tiewatch.sources.generic import RawSource, quote_ident, sql_str

# Canonical fields per table, in stored column order (declared once, in tiewatch.schema).
TABLES = tuple(FIELDS)
DEFAULT_PLATFORM = "generic"


@dataclass(frozen=True)
class FieldMapping:
    """--map FIELD=COLUMN and --set FIELD=VALUE, validated."""

    renames: dict[str, str]
    constants: dict[str, str]

    @classmethod
    def parse(cls, maps: list[str], sets: list[str]) -> FieldMapping:
        def pairs(items: list[str], flag: str) -> dict[str, str]:
            out: dict[str, str] = {}
            for item in items:
                key, sep, value = item.partition("=")
                if not sep or not key.strip():
                    raise TiewatchError(f"{flag} {item!r}: expected FIELD=VALUE")
                out[key.strip()] = value
            return out

        return cls(pairs(maps, "--map"), pairs(sets, "--set"))

    def wanted_columns(self) -> list[str]:
        return list(self.renames.values())


def available_fields(src: RawSource, mapping: FieldMapping) -> set[str]:
    fields = set(src.columns) | set(mapping.constants)
    fields |= {f for f, col in mapping.renames.items() if col in src.columns}
    return fields


def choose_table(src: RawSource, mapping: FieldMapping, forced: str | None, file: str) -> str:
    """The table a file feeds: --table, else recognised from its columns."""
    if forced:
        if forced not in TABLES:
            raise TiewatchError(f"unknown table {forced!r}; choose one of {', '.join(TABLES)}")
        return forced
    have = available_fields(src, mapping)
    if {"actor", "kind"} <= have:
        return "events"
    if "followers" in have:
        return "metrics"
    if "title" in have:
        return "news"
    if "name" in have and "account" in have:
        return "accounts"
    raise NotATable(
        f"{file}: cannot tell which table this is (columns: {', '.join(src.columns[:12])}); events need actor "
        "and kind, metrics followers, news title, accounts account and name; use --map, --set or --table")


def _value(field: str, src: RawSource, mapping: FieldMapping) -> str:
    """The raw text of a field: a --set constant, a --map'ped column, a same-named column, or NULL."""
    if field in mapping.constants:
        return sql_str(mapping.constants[field])
    column = mapping.renames.get(field, field)
    if column in src.columns or column in src.also_readable:
        col = quote_ident(column)
        if not src.trim:
            return f"NULLIF({col}, '')"
        # Trim only values that need it: trimming every value of every column costs more than the rest of
        # the typing together, and almost no value has surrounding spaces.
        return (f"(CASE WHEN {col} = '' OR ascii({col}) = 32 OR suffix({col}, ' ') THEN NULLIF(trim({col}), '') "
                f"ELSE {col} END)")
    if field in mapping.renames:
        raise TiewatchError(f"--map {field}={column}: no column {column!r} (columns: {', '.join(src.columns)})")
    return "NULL::VARCHAR"


def _bad_type(col: str) -> str:
    return f"(starts_with({col}, '{{') OR starts_with({col}, '['))"


def _integer(col: str) -> str:
    return f"TRY_CAST(TRY_CAST({col} AS DOUBLE) AS BIGINT)"


def stage_sql(table: str, src: RawSource, mapping: FieldMapping) -> str:
    """SELECT over the raw relation giving _rec, _raw, _reason and the typed fields of `table`.

    _reason is NULL for a record that can be stored, else the first problem found with it.
    """
    extra = ("id", "time_unknown") if table == "events" else ("id",)
    raw = {f: _value(f, src, mapping) for f in (*FIELDS[table], *extra)}
    inner = ", ".join(f"{expr} AS r_{f}" for f, expr in raw.items())
    rawjson = "to_json(struct_pack(" + ", ".join(f"{f} := r_{f}" for f in raw) + "))::VARCHAR"
    ts = parse_ts_sql("r_ts")

    def ts_of(f: str) -> str:
        return parse_ts_sql(f"r_{f}")

    if table == "events":
        kinds = ", ".join(sql_str(k) for k in EVENT_KINDS)
        typed = (f"{ts} AS ts, {ts_of('ts_lo')} AS ts_lo, {ts_of('ts_hi')} AS ts_hi, "
                 f"coalesce(r_platform, '{DEFAULT_PLATFORM}') AS platform, r_actor AS actor, "
                 f"lower(r_kind) AS kind, r_target AS target, r_post AS post, r_text AS text")
        checks = [
            ("r_actor IS NULL", "'missing actor'"),
            (_bad_type("r_actor"), "'wrong type: actor must be a string, got ' || r_actor"),
            (_bad_type("r_target"), "'wrong type: target must be a string, got ' || r_target"),
            ("r_kind IS NULL", "'missing kind'"),
            (f"lower(r_kind) NOT IN ({kinds})", "'unknown kind ' || to_json(r_kind)::VARCHAR"),
            ("r_ts IS NULL AND r_ts_lo IS NULL AND r_ts_hi IS NULL AND coalesce(r_time_unknown, '') <> '1'",
             "'missing ts'"),
            ("r_ts IS NOT NULL AND ts IS NULL", ts_problem_sql("r_ts")),
            ("r_ts_lo IS NOT NULL AND ts_lo IS NULL", ts_problem_sql("r_ts_lo")),
            ("r_ts_hi IS NOT NULL AND ts_hi IS NULL", ts_problem_sql("r_ts_hi")),
        ]
        # Without an id, identity is a hash of what the event says; the n-th identical record of a file
        # (two messages in the same second) is a distinct event, numbered so re-ingesting still matches.
        has_id = raw["id"] != "NULL::VARCHAR"
        occurrence = "" if has_id else (
            " || CASE WHEN _occ > 1 THEN '#' || _occ ELSE '' END")
        key = ("coalesce(r_id, 'h:' || md5(concat_ws('|', platform, actor, kind, coalesce(target, ''), "
               "coalesce(post, ''), coalesce(strftime(ts, '%Y-%m-%dT%H:%M:%S.%f'), ''), "
               f"coalesce(strftime(ts_lo, '%Y-%m-%dT%H:%M:%S.%f'), '')){occurrence}))")
        if not has_id:
            typed += (", row_number() OVER (PARTITION BY r_platform, r_actor, r_kind, r_target, r_post, r_ts, "
                      "r_ts_lo ORDER BY _rec) AS _occ")
        outer = (f"{key} AS id, ts, ts_lo, ts_hi, platform, actor, kind, target, "
                 f"CASE WHEN post IS NULL AND kind IN ('post', 'story') THEN {key} ELSE post END AS post, text")
    elif table == "metrics":
        typed = (f"{ts} AS ts, coalesce(r_platform, '{DEFAULT_PLATFORM}') AS platform, r_account AS account, "
                 f"{_integer('r_followers')} AS followers, {_integer('r_following')} AS following, "
                 f"{_integer('r_posts')} AS posts")
        checks = [
            ("r_account IS NULL", "'missing account'"),
            (_bad_type("r_account"), "'wrong type: account must be a string, got ' || r_account"),
            ("r_ts IS NULL", "'missing ts'"),
            ("ts IS NULL", ts_problem_sql("r_ts")),
            ("r_followers IS NOT NULL AND followers IS NULL",
             "'wrong type: followers must be a number, got ' || to_json(r_followers)::VARCHAR"),
            ("r_following IS NOT NULL AND following IS NULL",
             "'wrong type: following must be a number, got ' || to_json(r_following)::VARCHAR"),
            ("r_posts IS NOT NULL AND posts IS NULL",
             "'wrong type: posts must be a number, got ' || to_json(r_posts)::VARCHAR"),
        ]
        outer = "ts, platform, account, followers, following, posts"
    elif table == "news":
        subjects = ("CASE WHEN r_subjects IS NULL THEN []::VARCHAR[] WHEN starts_with(r_subjects, '[') "
                    "THEN TRY(from_json(r_subjects, '[\"VARCHAR\"]')) "
                    "ELSE regexp_split_to_array(r_subjects, '\\s*[;,|]\\s*') END")
        typed = (f"{ts} AS ts, r_title AS title, {subjects} AS subjects, r_kind AS kind, "
                 "lower(r_status) AS status, r_url AS url")
        checks = [
            ("r_title IS NULL", "'missing title'"),
            ("r_ts IS NULL", "'missing ts'"),
            ("ts IS NULL", ts_problem_sql("r_ts")),
            ("subjects IS NULL", "'wrong type: subjects must be a list of accounts'"),
        ]
        outer = ("coalesce(r_id, 'n:' || md5(strftime(ts, '%Y-%m-%dT%H:%M:%S') || '|' || title)) AS id, ts, title, "
                 "subjects, kind, status, url")
    else:  # accounts
        typed = (f"coalesce(r_platform, '{DEFAULT_PLATFORM}') AS platform, r_account AS account, r_name AS name, "
                 "r_person AS person, r_kind AS kind")
        checks = [
            ("r_account IS NULL", "'missing account'"),
            (_bad_type("r_account"), "'wrong type: account must be a string, got ' || r_account"),
        ]
        outer = "platform, account, name, person, kind"
    reason = "CASE WHEN _fault IS NOT NULL THEN _fault " + " ".join(
        f"WHEN {cond} THEN {msg}" for cond, msg in checks) + " END"
    return (f"SELECT _rec, _raw, _reason, CASE WHEN _reason IS NOT NULL THEN {rawjson} END AS _rawjson, {outer} "
            f"FROM (SELECT *, {reason} AS _reason FROM (SELECT *, {typed} FROM (SELECT _rec, _raw, _fault, {inner} "
            f"FROM ({src.sql}))))")
