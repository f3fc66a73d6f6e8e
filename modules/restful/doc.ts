// GET /doc: what Ceph's restful answers (get_doc_api over its controllers):
// each path, with <arg> for a path parameter, and the docstring lines of
// each method it has.
export const API_DOC: Record<string, Record<string, string[]>> = {
  '/': { GET: ['Show the basic information for the REST API', 'This includes values like api version or auth method'] },
  '/config/cluster': { GET: ['Show all cluster configuration options'] },
  '/config/cluster/<arg>': { GET: ['Show specific configuration option'] },
  '/config/osd': { GET: ['Show OSD configuration options'], PATCH: ['Modify OSD configuration options'] },
  '/crush/rule': { GET: ['Show crush rules'] },
  '/doc': { GET: ['Show documentation information'] },
  '/mon': { GET: ['Show the information for all the monitors'] },
  '/mon/<arg>': { GET: ['Show the information for the monitor name'] },
  '/osd': { GET: ['Show the information for all the OSDs'] },
  '/osd/<arg>': { GET: ['Show the information for the OSD id'], PATCH: ['Modify the state (up, in) of the OSD id or reweight it'] },
  '/osd/<arg>/command': { GET: ['Show implemented commands for the OSD id'], POST: ['Run the implemented command for the OSD id'] },
  '/perf': { GET: ['List all the available performance counters', '', 'Options:', " - 'daemon' -- filter by daemon, accepts Python regexp"] },
  '/pool': { GET: ['Show the information for all the pools'], POST: ['Create a new pool', 'Requires name and pg_num dict arguments'] },
  '/pool/<arg>': {
    GET: ['Show the information for the pool id'],
    PATCH: ['Modify the information for the pool id'],
    DELETE: ['Remove the pool data for the pool id'],
  },
  '/request': {
    GET: ['List all the available requests'],
    POST: ['Pass through method to create any request'],
    DELETE: ['Remove all the finished requests'],
  },
  '/request/<arg>': { GET: ['Show the information for the request id'], DELETE: ['Remove the request id from the database'] },
  '/server': { GET: ['Show the information for all the servers'] },
  '/server/<arg>': { GET: ['Show the information for the server fqdn'] },
};
