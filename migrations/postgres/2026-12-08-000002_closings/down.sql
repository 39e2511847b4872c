DROP TRIGGER contributions_stay_out_of_closed_periods ON contributions;
DROP TRIGGER transactions_stay_out_of_closed_periods ON transactions;
DROP FUNCTION stay_out_of_closed_periods();
DROP TRIGGER projects_stay_closed ON projects;
DROP FUNCTION projects_stay_closed();
DROP TABLE closings;
DROP FUNCTION closings_close_the_project();
ALTER TABLE projects DROP COLUMN closed_through;
