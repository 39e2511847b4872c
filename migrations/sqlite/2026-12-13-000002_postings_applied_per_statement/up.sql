-- Nothing on SQLite: its postings trigger stays a row trigger (SQLite has no
-- statement triggers), and its writes are in the service's process, where a
-- row's update costs no round trip and leaves no version behind.
SELECT 1;
