"""Organizations: schools and their people, classes, groups, joining and audit.

- ``core``: loading an organization as a given actor, audit entries, org events.
- ``organizations``: create, edit, verify; operators; child organizations; the public directory.
- ``members``: adding by phone (pending until the first sign-in), ``enroll``, roles, removal, leaving.
- ``directory``: who sees whom among an organization's members.
- ``parent_links``: parents and their children (what puts a parent into a parents' chat).
- ``classes`` / ``classnames``: classes and groups, their teachers and members; "5а" == "5 А".
- ``chatsync``: class, parents' and group chats kept in step with the org.
- ``joining`` / ``join_requests``: invite links; asking to join and the admins' decision.
- ``badges``: the teacher badge in verified organizations' chats.
"""
