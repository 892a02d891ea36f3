-- Email addresses are stored in one form (trimmed, lower case), so a
-- requester who writes Can@Example.com once and can@example.com later is
-- one requester.
UPDATE visitors SET email = LOWER(TRIM(email)) WHERE email <> LOWER(TRIM(email));
UPDATE tickets SET email = LOWER(TRIM(email)) WHERE email <> LOWER(TRIM(email));
