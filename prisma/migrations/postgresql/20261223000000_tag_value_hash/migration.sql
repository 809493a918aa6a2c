-- Tag values may be 5,000 characters long (MLflow's limit), up to 15,000 bytes of UTF-8, and a btree
-- entry must fit in a third of a page (about 2,700 bytes): PostgreSQL refused a longer value with
-- "index row size exceeds btree maximum", which a client got as a 500, and a backup from SQLite
-- holding one could not be restored here. Searches compare a tag's value for equality only, which a
-- hash index answers at any length; the key keeps a btree of its own. (prisma/models still declares
-- the (key, value) index SQLite keeps: Prisma cannot declare a hash index for one provider only.)
DROP INDEX "registered_model_tags_key_value_idx";
CREATE INDEX "registered_model_tags_key_idx" ON "registered_model_tags"("key");
CREATE INDEX "registered_model_tags_value_idx" ON "registered_model_tags" USING HASH ("value");

DROP INDEX "model_version_tags_key_value_idx";
CREATE INDEX "model_version_tags_key_idx" ON "model_version_tags"("key");
CREATE INDEX "model_version_tags_value_idx" ON "model_version_tags" USING HASH ("value");
