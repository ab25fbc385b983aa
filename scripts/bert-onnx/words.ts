/**
 * Common English words for the generated vocabulary, so that ordinary sentences
 * tokenise into whole words rather than letters (realistic sequence lengths).
 * Written for this project; order matters only in that it fixes token ids.
 */
export const commonWords: readonly string[] = `
the of and to in is was it for on with as that he she they we you i be by at this from
or have has had an not but are were which one all their there been if would will can more
what when who so no do out up about into than them its only other new some could time these
two may then first any like now my over such our very even most after also made many before
must through back years where much your way well down should because each just those people
how too little state good very make world still own see men work long get here between both
life being under never day same another know while last might us great old year off come
since against go came right used take three states himself few house use during without again
place around however home small found thought went say part once general high upon school
every does got united left number course war until always away something fact though water
less public put think almost hand enough far took head yet government system better set told
nothing night end why called eyes find going look asked later knew point next program city
business give group toward young days let room president side social given present several
order national second possible rather per face among form important often things looking early
white case john become large big need four within felt children along saw best church ever
least power development light thing seemed family interest want members mind country area
others although turned done open god service certain kind problem began different door thus
help sense means whole matter perhaps itself york times law human line above name example
action company hands local show whether five history gave today either act feet across taken
past quite anything seen having death week experience body word half really field car words
already themselves information tell together college shall money period held keep sure free
seems real behind cannot miss political air question office making brought whose special
major heard problems ago became federal moment study available known result street economic
boy position reason change south board individual job society west close turn love true
full court force seem wife future age voice center woman control common policy necessary
following front sometimes six girl clear further land run students provide able difficult
happy sad bad great terrible awful excellent amazing wonderful horrible nice poor fine best
worst loved hated enjoyed disappointed recommend product service price quality fast slow
broken works working delivery support thanks thank please hello hi yes okay fun boring
`
  .split(/\s+/)
  .filter((word) => word.length > 0);
