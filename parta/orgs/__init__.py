"""Organizations: schools and their people, classes, groups, joining and audit.

- ``core``: loading an organization as a given actor, audit entries, org events.
- ``chatsync``: class, parents' and group chats kept in step with the org.
- ``organizations``: create, edit, verify; operators; child organizations.
- ``members``: roles, removal, leaving, parent links, the directory.
- ``classes``: classes and groups, their teachers and members.
- ``joining``: invite links, join requests, pending memberships by phone.
"""
