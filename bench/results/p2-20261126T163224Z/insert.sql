\set amount random(100, 100000)
INSERT INTO bench_insert (external_id, amount_minor) VALUES ('pgb-' || nextval('bench_insert_ext'), :amount);
