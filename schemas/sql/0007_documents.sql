-- Wallet documents (docs/documents.md), from the upload_document,
-- delete_document and set_group_members events. Metadata only: the file name
-- is the ciphertext the event carries (readable through the API with the
-- owner's data key), the content never leaves the blob store. A deleted
-- document keeps its row with deleted_seq set, as its events stay in the
-- journal.
CREATE TABLE documents (
  document_id     bigint PRIMARY KEY,       -- the seq of the upload event
  owner           text NOT NULL,
  group_id        bigint,                   -- null: no group
  category        text NOT NULL CHECK (category IN ('passport', 'visa', 'ticket', 'insurance', 'health', 'other')),
  file_name_enc   text NOT NULL,            -- ciphertext (enc1:...)
  media_type      text NOT NULL,
  size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
  content_sha256  text NOT NULL,
  has_thumbnail   boolean NOT NULL,
  key_id          text NOT NULL,
  created_at      timestamptz NOT NULL,
  deleted_seq     bigint,
  deleted_at      timestamptz
);
CREATE INDEX documents_owner ON documents (owner, document_id);
CREATE INDEX documents_group ON documents (group_id, document_id) WHERE group_id IS NOT NULL;

-- The current members of each document group.
CREATE TABLE document_group_members (
  group_id   bigint NOT NULL,
  member     text NOT NULL,
  set_seq    bigint NOT NULL,
  PRIMARY KEY (group_id, member)
);
CREATE INDEX document_group_members_member ON document_group_members (member);
