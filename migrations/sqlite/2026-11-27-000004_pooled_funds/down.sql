DROP TABLE payouts;
DROP TABLE expenses;
DROP TABLE expense_categories;
DROP TABLE grants;
