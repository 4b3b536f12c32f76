"""The LIS audit dialects' header lines, written by hand from
``../shared/formats/lis-audit-csv.md`` (not taken from the generator, so that tests of the
readers do not share the generator's reading of the format)."""

from __future__ import annotations

#: The current dialect (UTF-8, ``;``, ISO 8601 times with offset).
CURRENT_HEADER = (
    "horodatage;code_labo;code_site;login;profil;poste;adresse_ip;module;action;statut;ipp;"
    "num_demande;nb_lignes;volume_octets;id_session;commentaire"
)
#: The legacy dialect (cp1252, ``;``, local day-first dates).
LEGACY_HEADER = (
    "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
    "NB_ENREG;DETAIL"
)
