-- v2g-dispatch schema, version 1. PostgreSQL is the reference dialect; the same text runs on
-- SQLite (declared types are kept, SQLite converts TIMESTAMPTZ, JSONB and BOOLEAN on read).
-- Times are UTC; power in kW, energy in kWh, SoC in percent, prices in EUR/kWh.
-- JSONB columns hold JSON text written and read by the application.

-- Sites and their named parameter sets (the original system's MAF configuration).
CREATE TABLE t_site (
    site_id         TEXT PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    parameter_set   TEXT NOT NULL DEFAULT 'default',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE t_site_parameter (
    site_id         TEXT NOT NULL REFERENCES t_site (site_id) ON DELETE CASCADE,
    set_name        TEXT NOT NULL,
    name            TEXT NOT NULL,
    value           JSONB NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, set_name, name)
);

-- Vehicles: master data (from the fleet's records) and the latest telemetry (from MQTT).
CREATE TABLE t_vehicle (
    site_id                 TEXT NOT NULL,
    vehicle_id              TEXT NOT NULL,
    vehicle_type            TEXT NOT NULL DEFAULT 'van',
    capabilities            JSONB NOT NULL DEFAULT '[]',
    battery_kwh             DOUBLE PRECISION NOT NULL CHECK (battery_kwh > 0),
    efficiency_kwh_per_km   DOUBLE PRECISION CHECK (efficiency_kwh_per_km > 0),
    max_charge_kw           DOUBLE PRECISION NOT NULL CHECK (max_charge_kw >= 0),
    max_discharge_kw        DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (max_discharge_kw >= 0),
    soc_pct                 DOUBLE PRECISION NOT NULL CHECK (soc_pct >= 0 AND soc_pct <= 100),
    plugged_in              BOOLEAN NOT NULL DEFAULT FALSE,
    online                  BOOLEAN NOT NULL DEFAULT FALSE,
    availability            DOUBLE PRECISION NOT NULL DEFAULT 1,
    degradation             DOUBLE PRECISION NOT NULL DEFAULT 0,
    state_at                TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, vehicle_id)
);

-- Routes as planned (vehicle_id: the planner's vehicle, used by independent scheduling).
CREATE TABLE t_route_plan (
    site_id                 TEXT NOT NULL,
    route_id                TEXT NOT NULL,
    vehicle_id              TEXT,
    start_at                TIMESTAMPTZ NOT NULL,
    end_at                  TIMESTAMPTZ NOT NULL,
    distance_km             DOUBLE PRECISION CHECK (distance_km >= 0),
    energy_kwh              DOUBLE PRECISION CHECK (energy_kwh >= 0),
    vehicle_type            TEXT,
    required_capabilities   JSONB NOT NULL DEFAULT '[]',
    status                  TEXT NOT NULL DEFAULT 'planned'
                            CHECK (status IN ('planned', 'started', 'cancelled')),
    updated_at              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, route_id),
    CHECK (end_at > start_at),
    CHECK (distance_km IS NOT NULL OR energy_kwh IS NOT NULL)
);
CREATE INDEX ix_route_plan_window ON t_route_plan (site_id, start_at);

-- Allocation runs and the routes each one allocated.
CREATE TABLE t_allocation_run (
    run_id              TEXT PRIMARY KEY,
    site_id             TEXT NOT NULL,
    trigger_type        TEXT NOT NULL,
    window_start        TIMESTAMPTZ NOT NULL,
    window_end          TIMESTAMPTZ NOT NULL,
    status              TEXT NOT NULL,
    solver              TEXT NOT NULL,
    fallback_reason     TEXT,
    objective           DOUBLE PRECISION NOT NULL,
    mip_gap             DOUBLE PRECISION NOT NULL,
    routes_in_window    INTEGER NOT NULL,
    routes_covered      INTEGER NOT NULL,
    runtime_s           DOUBLE PRECISION NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    result              JSONB NOT NULL
);
CREATE INDEX ix_allocation_run_site ON t_allocation_run (site_id, created_at);

CREATE TABLE t_route_allocated (
    run_id          TEXT NOT NULL REFERENCES t_allocation_run (run_id) ON DELETE CASCADE,
    site_id         TEXT NOT NULL,
    route_id        TEXT NOT NULL,
    vehicle_id      TEXT NOT NULL,
    PRIMARY KEY (run_id, route_id)
);

-- Charge schedules: one run per site and window, one row per vehicle and slot.
CREATE TABLE t_schedule_run (
    run_id              TEXT PRIMARY KEY,
    site_id             TEXT NOT NULL,
    allocation_run_id   TEXT REFERENCES t_allocation_run (run_id) ON DELETE SET NULL,
    mode                TEXT NOT NULL,
    window_start        TIMESTAMPTZ NOT NULL,
    slot_minutes        INTEGER NOT NULL,
    n_slots             INTEGER NOT NULL,
    status              TEXT NOT NULL,
    solver              TEXT NOT NULL,
    cost_eur            DOUBLE PRECISION NOT NULL,
    unmet_kwh           DOUBLE PRECISION NOT NULL,
    runtime_s           DOUBLE PRECISION NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    plan                JSONB NOT NULL
);
CREATE INDEX ix_schedule_run_site ON t_schedule_run (site_id, created_at);

CREATE TABLE t_charge_schedule (
    run_id          TEXT NOT NULL REFERENCES t_schedule_run (run_id) ON DELETE CASCADE,
    vehicle_id      TEXT NOT NULL,
    slot_start      TIMESTAMPTZ NOT NULL,
    power_kw        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, vehicle_id, slot_start)
);

-- Prices (with TRIAD flags) and load forecasts, per site, from the start of each period.
CREATE TABLE t_price (
    site_id             TEXT NOT NULL,
    start_at            TIMESTAMPTZ NOT NULL,
    price_eur_per_kwh   DOUBLE PRECISION NOT NULL,
    triad               BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (site_id, start_at)
);

CREATE TABLE t_load_forecast (
    site_id         TEXT NOT NULL,
    start_at        TIMESTAMPTZ NOT NULL,
    load_kw         DOUBLE PRECISION NOT NULL CHECK (load_kw >= 0),
    PRIMARY KEY (site_id, start_at)
);

-- The dispatch journal: a signal is written when its dispatch starts, its orders before they
-- leave, every ack as it arrives, and the result when the dispatch ends.
CREATE TABLE t_signal (
    signal_id       TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL,
    payload         JSONB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('in_flight', 'completed', 'failed')),
    dispatcher      TEXT NOT NULL,
    fallback        TEXT NOT NULL,
    ack_timeout_s   DOUBLE PRECISION NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);
CREATE INDEX ix_signal_state ON t_signal (state, site_id);

CREATE TABLE t_order (
    order_id        TEXT PRIMARY KEY,
    signal_id       TEXT NOT NULL REFERENCES t_signal (signal_id) ON DELETE CASCADE,
    site_id         TEXT NOT NULL,
    vehicle_id      TEXT NOT NULL,
    round           INTEGER NOT NULL,
    direction       TEXT NOT NULL,
    power_kw        DOUBLE PRECISION NOT NULL,
    start_at        TIMESTAMPTZ NOT NULL,
    end_at          TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_order_signal ON t_order (signal_id);

CREATE TABLE t_ack (
    ack_id          TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES t_order (order_id) ON DELETE CASCADE,
    vehicle_id      TEXT NOT NULL,
    status          TEXT NOT NULL,
    accepted_kw     DOUBLE PRECISION NOT NULL,
    reason          TEXT,
    verdict         TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_ack_order ON t_ack (order_id);

CREATE TABLE t_result (
    signal_id       TEXT PRIMARY KEY REFERENCES t_signal (signal_id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    acknowledged_kw DOUBLE PRECISION NOT NULL,
    recovered       BOOLEAN NOT NULL DEFAULT FALSE,
    payload         JSONB NOT NULL,
    finished_at     TIMESTAMPTZ NOT NULL
);
