-- When the service last recorded a vehicle's presence (online or offline) from MQTT; NULL for
-- vehicles only known from the fleet's records. Planning treats a vehicle whose gateway said
-- it is offline as unavailable for new routes.
ALTER TABLE t_vehicle ADD COLUMN presence_at TIMESTAMPTZ;
